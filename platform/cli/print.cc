#include "platform/cli/print.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/store/store.h"

namespace estelik::cli {

std::string HlcTime(const pb::Hlc& hlc) {
  std::time_t secs = static_cast<std::time_t>(hlc.wall_ms() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

const char* KindName(pb::AttachmentKind kind) {
  switch (kind) {
    case pb::ATTACHMENT_KIND_AUDIO:
      return "audio";
    case pb::ATTACHMENT_KIND_VIDEO:
      return "video";
    case pb::ATTACHMENT_KIND_PHOTO:
      return "photo";
    case pb::ATTACHMENT_KIND_DOCUMENT:
      return "document";
    default:
      return "unspecified";
  }
}

const char* ScopeName(pb::ConsentScope scope) {
  switch (scope) {
    case pb::CONSENT_SCOPE_PRIVATE:
      return "private";
    case pb::CONSENT_SCOPE_CIRCLE:
      return "circle";
    case pb::CONSENT_SCOPE_PUBLIC:
      return "public";
    default:
      return "private";
  }
}

void WriteFields(JsonWriter& w, const pb::TestimonyFields& f) {
  w.Key("language").String(f.language());
  w.Key("title").String(f.title());
  w.Key("body").String(f.body());
  w.Key("tags").StringArray({f.tags().begin(), f.tags().end()});
  w.Key("places").StringArray({f.places().begin(), f.places().end()});
  w.Key("people").StringArray({f.people().begin(), f.people().end()});
  w.Key("event_from").String(f.event_dates().from());
  w.Key("event_to").String(f.event_dates().to());
  w.Key("scope").String(ScopeName(f.consent_scope()));
}

void WriteAttachment(JsonWriter& w, const pb::AttachmentInfo& a) {
  w.BeginObject();
  w.Key("id").String(Hex(a.attachment_id()));
  w.Key("name").String(a.name());
  w.Key("media_type").String(a.media_type());
  w.Key("kind").String(KindName(a.kind()));
  w.Key("size").Uint(a.size());
  w.Key("chunks").Uint(a.chunk_count());
  w.Key("blake2b").String(Hex(a.content_hash()));
  w.EndObject();
}

void WriteTestimony(JsonWriter& w, const pb::Testimony& t) {
  w.BeginObject();
  w.Key("id").String(Hex(t.id()));
  w.Key("author").String(Hex(t.author()));
  w.Key("created").String(HlcTime(t.created()));
  w.Key("updated").String(HlcTime(t.updated()));
  w.Key("version").Uint(t.current_version());
  w.Key("withdrawn").Bool(t.withdrawn());
  if (t.withdrawn()) {
    w.Key("tombstone").String(Hex(t.tombstone_hash()));
  } else {
    WriteFields(w, t.fields());
  }
  w.Key("attachments").BeginArray();
  for (const auto& a : t.attachments()) WriteAttachment(w, a);
  w.EndArray();
  // The author's tags plus those circle members added (add-wins), and members' notes.
  w.Key("effective_tags").StringArray({t.tags().begin(), t.tags().end()});
  w.Key("annotations").BeginArray();
  for (const auto& n : t.annotations()) {
    w.BeginObject().Key("id").String(Hex(n.annotation_id()));
    w.Key("author").String(Hex(n.author())).Key("text").String(n.text());
    w.Key("language").String(n.language()).Key("added").String(HlcTime(n.added()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

namespace {
std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}
}  // namespace

void PrintTestimony(const pb::Testimony& t) {
  const auto& f = t.fields();
  std::printf("id:        %s\n", Hex(t.id()).c_str());
  std::printf("author:    %s\n", ShortId(t.author()).c_str());
  std::printf("recorded:  %s\n", HlcTime(t.created()).c_str());
  std::printf("version:   %u (updated %s)\n", t.current_version(), HlcTime(t.updated()).c_str());
  if (t.withdrawn()) {
    std::printf("WITHDRAWN: content destroyed; tombstone %s\n", Hex(t.tombstone_hash()).c_str());
    return;
  }
  std::printf("language:  %s\n", f.language().c_str());
  std::printf("scope:     %s\n", ScopeName(f.consent_scope()));
  if (t.tags_size() > 0) std::printf("tags:      %s\n", Join(t.tags()).c_str());
  if (f.places_size() > 0) std::printf("places:    %s\n", Join(f.places()).c_str());
  if (f.people_size() > 0) std::printf("people:    %s\n", Join(f.people()).c_str());
  if (!f.event_dates().from().empty()) {
    std::printf("event:     %s%s%s\n", f.event_dates().from().c_str(),
                f.event_dates().to().empty() || f.event_dates().to() == f.event_dates().from()
                    ? ""
                    : " .. ",
                f.event_dates().to() == f.event_dates().from() ? "" : f.event_dates().to().c_str());
  }
  std::printf("\n%s\n\n%s\n", f.title().c_str(), f.body().c_str());
  if (t.attachments_size() > 0) {
    std::printf("\nattachments:\n");
    int n = 0;
    for (const auto& a : t.attachments()) {
      std::printf("  %d. %s (%s, %s) blake2b %s\n", ++n, a.name().c_str(), KindName(a.kind()),
                  HumanSize(a.size()).c_str(), ShortId(a.content_hash()).c_str());
    }
  }
  if (t.annotations_size() > 0) {
    std::printf("\nnotes:\n");
    for (const auto& n : t.annotations()) {
      std::printf("  %s, %s: %s\n", ShortId(n.author()).c_str(), HlcTime(n.added()).c_str(),
                  n.text().c_str());
    }
  }
}

void PrintTestimonyLine(const pb::Testimony& t) {
  std::string date = t.fields().event_dates().from();
  if (date.empty()) date = HlcTime(t.created()).substr(0, 10);
  std::printf("%s  %-10s  %-3s  %s%s\n", ShortId(t.id()).c_str(), date.c_str(),
              t.fields().language().c_str(),
              t.withdrawn() ? "[withdrawn]" : t.fields().title().c_str(),
              t.attachments_size() > 0 ? "  (+attachments)" : "");
}

std::string RenderSnippet(const std::string& snippet, bool terminal) {
  std::string out;
  for (char c : snippet) {
    if (c == store::kHighlightOpen[0]) {
      out += terminal ? "\x1b[1;33m" : "[";
    } else if (c == store::kHighlightClose[0]) {
      out += terminal ? "\x1b[0m" : "]";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace estelik::cli
