#include "platform/cli/print.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/store/store.h"

namespace estelik::cli {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence at the start of `s` (1..4), or 0 if it is not one
// (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
size_t Utf8Length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string Printable(std::string_view text, bool block) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8Length(text.substr(i));
    const bool c0 = c < 0x20 && !(block && (c == '\n' || c == '\t'));
    const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (n == 0 || c0 || c == 0x7F || c1) {
      out += kReplacement;
      i += n == 0 ? 1 : n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

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
    out += Printable(s);
  }
  return out;
}

// Printable, as a C string for printf: `P(x)` lives until the end of the full expression.
std::string P(std::string_view text) { return Printable(text); }
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
  std::printf("language:  %s\n", P(f.language()).c_str());
  std::printf("scope:     %s\n", ScopeName(f.consent_scope()));
  if (t.tags_size() > 0) std::printf("tags:      %s\n", Join(t.tags()).c_str());
  if (f.places_size() > 0) std::printf("places:    %s\n", Join(f.places()).c_str());
  if (f.people_size() > 0) std::printf("people:    %s\n", Join(f.people()).c_str());
  if (!f.event_dates().from().empty()) {
    const std::string& from = f.event_dates().from();
    const std::string& to = f.event_dates().to();
    std::printf("event:     %s%s%s\n", P(from).c_str(), to.empty() || to == from ? "" : " .. ",
                to == from ? "" : P(to).c_str());
  }
  std::printf("\n%s\n\n%s\n", P(f.title()).c_str(), Printable(f.body(), /*block=*/true).c_str());
  if (t.attachments_size() > 0) {
    std::printf("\nattachments:\n");
    int n = 0;
    for (const auto& a : t.attachments()) {
      std::printf("  %d. %s (%s, %s) blake2b %s\n", ++n, P(a.name()).c_str(), KindName(a.kind()),
                  HumanSize(a.size()).c_str(), ShortId(a.content_hash()).c_str());
    }
  }
  if (t.annotations_size() > 0) {
    std::printf("\nnotes:\n");
    for (const auto& n : t.annotations()) {
      std::printf("  %s, %s: %s\n", ShortId(n.author()).c_str(), HlcTime(n.added()).c_str(),
                  P(n.text()).c_str());
    }
  }
}

void PrintTestimonyLine(const pb::Testimony& t) {
  std::string date = t.fields().event_dates().from();
  if (date.empty()) date = HlcTime(t.created()).substr(0, 10);
  std::printf("%s  %-10s  %-3s  %s%s\n", ShortId(t.id()).c_str(), P(date).c_str(),
              P(t.fields().language()).c_str(),
              t.withdrawn() ? "[withdrawn]" : P(t.fields().title()).c_str(),
              t.attachments_size() > 0 ? "  (+attachments)" : "");
}

std::string RenderSnippet(const std::string& snippet, bool terminal) {
  // Only the markers become escapes; everything between them is user text, made printable.
  std::string out, text;
  auto flush = [&] {
    out += Printable(text);
    text.clear();
  };
  for (char c : snippet) {
    if (c == store::kHighlightOpen[0]) {
      flush();
      out += terminal ? "\x1b[1;33m" : "[";
    } else if (c == store::kHighlightClose[0]) {
      flush();
      out += terminal ? "\x1b[0m" : "]";
    } else {
      text += c == '\n' ? ' ' : c;
    }
  }
  flush();
  return out;
}

}  // namespace estelik::cli
