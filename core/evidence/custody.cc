// The custody model: what the signed ops of a bundle say happened to each testimony, and its
// two renderings. Export writes custody.json/custody.html from it; verify rebuilds it from
// the verified ops and requires the bundle's files to be byte-identical, so the report can
// never say something the signed ops do not.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "core/archive/text_delta.h"
#include "core/bytes.h"
#include "core/evidence/bundle.h"
#include "core/json.h"

namespace estelik::evidence::internal {
namespace {

log::PublicKey KeyOf(std::string_view bytes) {
  log::PublicKey k{};
  std::memcpy(k.data(), bytes.data(), std::min(bytes.size(), k.size()));
  return k;
}

std::string Fp(std::string_view key) { return log::Fingerprint(KeyOf(key)); }

std::string KindOf(const pb::OpBody& body) {
  switch (body.mutation_case()) {
    case pb::OpBody::kTestimonyCreate:
      return "create";
    case pb::OpBody::kTestimonyEdit:
      return "edit";
    case pb::OpBody::kTestimonyWithdraw:
      return "withdraw";
    case pb::OpBody::kTagAdd:
      return "tag_add";
    case pb::OpBody::kTagRemove:
      return "tag_remove";
    case pb::OpBody::kAnnotationAdd:
      return "annotation";
    case pb::OpBody::kAttachmentAdd:
      return "attachment";
    case pb::OpBody::kShareIntoCircle:
      return "share";
    default:
      return "other";
  }
}

// Kinds only the testimony's author may sign (docs/FORMAT.md "Merge").
bool OwnerOnly(const std::string& kind) {
  return kind == "create" || kind == "edit" || kind == "withdraw" || kind == "attachment" ||
         kind == "share";
}

bool Before(const RevealedOp* a, const RevealedOp* b) {
  const auto& ha = a->op.hlc();
  const auto& hb = b->op.hlc();
  if (ha.wall_ms() != hb.wall_ms()) return ha.wall_ms() < hb.wall_ms();
  if (ha.counter() != hb.counter()) return ha.counter() < hb.counter();
  return a->hash < b->hash;
}

const pb::TestimonyFields* FieldsOf(const pb::OpBody& body) {
  if (body.has_testimony_create()) return &body.testimony_create().fields();
  if (body.has_testimony_edit()) return &body.testimony_edit().fields();
  if (body.has_share_into_circle()) return &body.share_into_circle().fields();
  return nullptr;
}

std::string HashHex(const log::OpHash& h) { return Hex(h); }

void AddAttachment(CustodyTestimony& t, const pb::AttachmentInfo& info, const RevealedOp& op,
                   std::map<std::string, size_t>& index, std::vector<std::string>& problems) {
  const std::string where = OpEnvelopePath(op.hash) + ": attachment " + Hex(info.attachment_id());
  if (info.attachment_id().empty() || info.attachment_id().size() > 64) {
    problems.push_back(where + " has an invalid id");
    return;
  }
  if (info.testimony_id() != t.id) {
    problems.push_back(where + " belongs to testimony " + Hex(info.testimony_id()) + ", not " +
                       Hex(t.id));
    return;
  }
  if (info.content_hash().size() != log::kHashSize) {
    problems.push_back(where + " has no 32-byte content hash");
    return;
  }
  auto it = index.find(info.attachment_id());
  if (it == index.end()) {
    index.emplace(info.attachment_id(), t.attachments.size());
    t.attachments.push_back(info);
    return;
  }
  const pb::AttachmentInfo& seen = t.attachments[it->second];
  if (seen.content_hash() != info.content_hash() || seen.size() != info.size()) {
    problems.push_back(where + " is described with two different contents");
  }
}

void BuildOne(CustodyTestimony& t, std::vector<const RevealedOp*> ops,
              std::vector<std::string>& problems) {
  std::sort(ops.begin(), ops.end(), Before);
  const std::string tid = "testimony " + Hex(t.id);
  // The owner: the creator; on a device that only received the testimony, the author of its
  // first share; for a tombstone-only export, the withdrawer.
  std::vector<const RevealedOp*> creates, shares, withdraws;
  for (const RevealedOp* op : ops) {
    if (op->parsed.has_testimony_create()) creates.push_back(op);
    if (op->parsed.has_share_into_circle()) shares.push_back(op);
    if (op->parsed.has_testimony_withdraw()) withdraws.push_back(op);
  }
  if (creates.size() > 1) problems.push_back(tid + ": created by more than one op");
  if (!creates.empty()) {
    t.author = creates.front()->op.author();
  } else if (!shares.empty()) {
    t.author = shares.front()->op.author();
  } else if (!withdraws.empty()) {
    t.author = withdraws.front()->op.author();
  } else {
    problems.push_back(tid + ": no op in the bundle establishes its author (create, share or " +
                       "withdraw missing)");
    if (!ops.empty()) t.author = ops.front()->op.author();
  }
  for (const RevealedOp* w : withdraws) {
    if (w->op.author() == t.author) t.withdrawn = true;
  }

  std::set<log::OpHash> present;
  for (const RevealedOp* op : ops) present.insert(op->hash);
  std::map<std::string, size_t> attachment_index;
  // The version each fields-carrying op made or restated (a share repeating the current
  // fields), by op hash: the bases an edit's text delta is resolved against.
  std::map<log::OpHash, size_t> version_by_op;
  std::set<size_t> unresolved;  // versions whose body could not be resolved
  std::optional<size_t> current;
  for (const RevealedOp* op : ops) {
    CustodyEvent event{op, KindOf(op->parsed), 0};
    const std::string where = OpEnvelopePath(op->hash);
    if (OwnerOnly(event.kind) && op->op.author() != t.author) {
      problems.push_back(where + ": " + event.kind + " of " + tid + " signed by " +
                         Fp(op->op.author()) + ", who is not its author");
    }
    if (t.withdrawn && event.kind != "withdraw") {
      problems.push_back(where + ": " + tid +
                         " is withdrawn, but the bundle reveals its content (" + event.kind + ")");
    }
    if (const pb::TestimonyFields* fields = FieldsOf(op->parsed)) {
      bool is_version =
          !current || event.kind != "share" ||
          !google::protobuf::util::MessageDifferencer::Equals(t.versions[*current].fields, *fields);
      if (is_version) {
        event.version = static_cast<uint32_t>(t.versions.size() + 1);
        t.versions.push_back({event.version, op, *fields});
        current = t.versions.size() - 1;
      }
      version_by_op[op->hash] = *current;
    }
    if (op->parsed.has_testimony_edit()) {
      const pb::TestimonyEdit& edit = op->parsed.testimony_edit();
      const std::string& base = edit.base_op();
      log::OpHash base_hash{};
      const bool base_named = base.size() == base_hash.size();
      if (base_named) std::memcpy(base_hash.data(), base.data(), base.size());
      if (!base.empty() && (!base_named || present.count(base_hash) == 0)) {
        problems.push_back(tid + " version " + std::to_string(event.version) +
                           ": the version it was edited from (op " + Hex(base) + ") is missing" +
                           (edit.has_body_delta() ? "; its text, a change to that version's, "
                                                    "cannot be shown"
                                                  : ""));
      }
      if (edit.has_body_delta()) {
        // The text is the delta applied to the body of the version base_op made. Without that
        // version nothing is shown: never text the author did not sign.
        auto base_version = base_named ? version_by_op.find(base_hash) : version_by_op.end();
        std::optional<std::string> problem;
        bool resolved = false;
        if (!base_named) {
          problem = where + ": " + archive::ResolveEditFields(edit, "").status().message();
        } else if (present.count(base_hash) == 0) {
          // Reported above as a missing version.
        } else if (base_version == version_by_op.end()) {
          problem = tid + " version " + std::to_string(event.version) +
                    ": its text delta names op " + Hex(base) +
                    ", which is not an earlier version of the testimony";
        } else if (unresolved.count(base_version->second) > 0) {
          problem = tid + " version " + std::to_string(event.version) +
                    ": its text is a change to version " +
                    std::to_string(base_version->second + 1) + ", whose text cannot be shown";
        } else {
          Result<pb::TestimonyFields> full =
              archive::ResolveEditFields(edit, t.versions[base_version->second].fields.body());
          if (full.ok()) {
            t.versions[*current].fields = *std::move(full);
            resolved = true;
          } else {
            problem = where + ": " + full.status().message();
          }
        }
        if (problem) problems.push_back(*std::move(problem));
        if (!resolved) unresolved.insert(*current);
      }
    }
    if (op->parsed.has_attachment_add()) {
      AddAttachment(t, op->parsed.attachment_add().info(), *op, attachment_index, problems);
    }
    if (op->parsed.has_share_into_circle()) {
      for (const auto& info : op->parsed.share_into_circle().attachments()) {
        AddAttachment(t, info, *op, attachment_index, problems);
      }
    }
    t.events.push_back(event);
  }
  std::sort(t.attachments.begin(), t.attachments.end(),
            [](const auto& a, const auto& b) { return a.attachment_id() < b.attachment_id(); });
}

// ---- Rendering ----

void KeyJson(JsonWriter& w, std::string_view key) {
  w.BeginObject().Key("key").String(Hex(key)).Key("fingerprint").String(Fp(key)).EndObject();
}

void HlcJson(JsonWriter& w, const pb::Hlc& hlc) {
  w.BeginObject()
      .Key("wall_ms")
      .Uint(hlc.wall_ms())
      .Key("counter")
      .Uint(hlc.counter())
      .Key("time")
      .String(Iso8601(hlc.wall_ms()))
      .EndObject();
}

std::vector<std::pair<std::string, std::string>> SortedMetadata(const pb::TestimonyFields& f) {
  std::vector<std::pair<std::string, std::string>> m(f.capture_metadata().begin(),
                                                     f.capture_metadata().end());
  std::sort(m.begin(), m.end());
  return m;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return {r.begin(), r.end()};
}

void FieldsJson(JsonWriter& w, const pb::TestimonyFields& f) {
  w.BeginObject();
  w.Key("language").String(f.language());
  w.Key("title").String(f.title());
  w.Key("body").String(f.body());
  w.Key("tags").StringArray(Strings(f.tags()));
  w.Key("places").StringArray(Strings(f.places()));
  w.Key("people").StringArray(Strings(f.people()));
  w.Key("event_from").String(f.event_dates().from());
  w.Key("event_to").String(f.event_dates().to());
  w.Key("consent_scope").String(pb::ConsentScope_Name(f.consent_scope()));
  w.Key("circle_id").String(Hex(f.circle_id()));
  w.Key("capture_metadata").BeginObject();
  for (const auto& [k, v] : SortedMetadata(f)) w.Key(k).String(v);
  w.EndObject();
  w.EndObject();
}

void AttachmentJson(JsonWriter& w, const pb::AttachmentInfo& a) {
  w.BeginObject();
  w.Key("id").String(Hex(a.attachment_id()));
  w.Key("file").String(AttachmentPath(a.attachment_id()));
  w.Key("name").String(a.name());
  w.Key("media_type").String(a.media_type());
  w.Key("kind").String(pb::AttachmentKind_Name(a.kind()));
  w.Key("size").Uint(a.size());
  w.Key("content_hash").String(Hex(a.content_hash()));
  w.Key("author").String(Hex(a.author()));
  w.Key("added");
  HlcJson(w, a.added());
  w.EndObject();
}

// One line a person can read, for the event list.
std::string Describe(const CustodyEvent& e) {
  const pb::OpBody& b = e.op->parsed;
  switch (b.mutation_case()) {
    case pb::OpBody::kTestimonyCreate:
      return "recorded (version 1)";
    case pb::OpBody::kTestimonyEdit:
      return "edited (version " + std::to_string(e.version) + ")";
    case pb::OpBody::kShareIntoCircle:
      return "shared into circle " + Hex(e.op->op.scope().circle_id()) +
             (e.version ? " (version " + std::to_string(e.version) + ")" : "");
    case pb::OpBody::kTestimonyWithdraw:
      return "withdrawn; tombstone " + Hex(b.testimony_withdraw().tombstone_hash());
    case pb::OpBody::kAttachmentAdd:
      return "attachment " + Hex(b.attachment_add().info().attachment_id()) +
             " added: " + b.attachment_add().info().name();
    case pb::OpBody::kTagAdd:
      return "tag added: " + b.tag_add().tag();
    case pb::OpBody::kTagRemove:
      return "tag removed: " + b.tag_remove().tag();
    case pb::OpBody::kAnnotationAdd:
      return "annotation: " + b.annotation_add().text();
    default:
      return "other";
  }
}

std::string ScopeText(const pb::Op& op) {
  if (op.scope().circle_id().empty()) return "private";
  return "circle " + Hex(op.scope().circle_id()) + " epoch " + std::to_string(op.scope().epoch());
}

std::string Html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Row(std::initializer_list<std::string> cells) {
  std::string r = "<tr>";
  for (const auto& c : cells) r += "<td>" + Html(c) + "</td>";
  return r + "</tr>\n";
}

}  // namespace

std::string TestimonyIdOf(const pb::OpBody& body) {
  switch (body.mutation_case()) {
    case pb::OpBody::kTestimonyCreate:
      return body.testimony_create().testimony_id();
    case pb::OpBody::kTestimonyEdit:
      return body.testimony_edit().testimony_id();
    case pb::OpBody::kTestimonyWithdraw:
      return body.testimony_withdraw().testimony_id();
    case pb::OpBody::kTagAdd:
      return body.tag_add().testimony_id();
    case pb::OpBody::kTagRemove:
      return body.tag_remove().testimony_id();
    case pb::OpBody::kAnnotationAdd:
      return body.annotation_add().testimony_id();
    case pb::OpBody::kAttachmentAdd:
      return body.attachment_add().info().testimony_id();
    case pb::OpBody::kShareIntoCircle:
      return body.share_into_circle().testimony_id();
    default:
      return {};
  }
}

Custody BuildCustody(const std::vector<std::string>& testimony_ids,
                     const std::vector<RevealedOp>& ops, std::string exporter,
                     uint64_t exported_unix_ms) {
  Custody c;
  c.exporter = std::move(exporter);
  c.exported_unix_ms = exported_unix_ms;
  std::map<std::string, std::vector<const RevealedOp*>> by_id;
  for (const auto& id : testimony_ids) by_id[id];
  std::set<std::string> authors;
  for (const RevealedOp& op : ops) {
    authors.insert(op.op.author());
    std::string id = TestimonyIdOf(op.parsed);
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      c.problems.push_back(OpEnvelopePath(op.hash) +
                           (id.empty() ? std::string(": op is not about a testimony")
                                       : ": op is about testimony " + Hex(id) +
                                             ", which the manifest does not list"));
      continue;
    }
    it->second.push_back(&op);
  }
  for (auto& [id, list] : by_id) {
    CustodyTestimony t;
    t.id = id;
    if (list.empty()) {
      c.problems.push_back("testimony " + Hex(id) + ": the bundle holds no op about it");
    } else {
      BuildOne(t, std::move(list), c.problems);
    }
    if (!c.exporter.empty() && !t.author.empty() && t.author != c.exporter) {
      t.exporter_note = "exported by " + Fp(c.exporter) + ", not by its author " + Fp(t.author) +
                        ": later corrections may be missing";
    }
    c.testimonies.push_back(std::move(t));
  }
  c.authors.assign(authors.begin(), authors.end());
  return c;
}

std::string CustodyJson(const Custody& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("format").String(kManifestMagic);
  w.Key("exporter");
  KeyJson(w, c.exporter);
  w.Key("exported_unix_ms").Uint(c.exported_unix_ms);
  w.Key("exported").String(Iso8601(c.exported_unix_ms));
  w.Key("authors").BeginArray();
  for (const auto& a : c.authors) KeyJson(w, a);
  w.EndArray();
  w.Key("testimonies").BeginArray();
  for (const auto& t : c.testimonies) {
    w.BeginObject();
    w.Key("id").String(Hex(t.id));
    w.Key("author");
    KeyJson(w, t.author);
    // Only when someone else exported it, so an author's own bundle keeps its bytes.
    if (!t.exporter_note.empty()) w.Key("exporter_note").String(t.exporter_note);
    w.Key("withdrawn").Bool(t.withdrawn);
    w.Key("versions").BeginArray();
    for (const auto& v : t.versions) {
      w.BeginObject();
      w.Key("version").Uint(v.number);
      w.Key("op").String(HashHex(v.op->hash));
      w.Key("author").String(Hex(v.op->op.author()));
      w.Key("hlc");
      HlcJson(w, v.op->op.hlc());
      uint64_t recorded = v.op->parsed.has_testimony_create()
                              ? v.op->parsed.testimony_create().recorded_unix_ms()
                              : v.op->parsed.share_into_circle().recorded_unix_ms();
      if (recorded != 0) {
        w.Key("recorded_unix_ms").Uint(recorded);
        w.Key("recorded").String(Iso8601(recorded));
      }
      w.Key("fields");
      FieldsJson(w, v.fields);
      w.EndObject();
    }
    w.EndArray();
    w.Key("attachments").BeginArray();
    for (const auto& a : t.attachments) AttachmentJson(w, a);
    w.EndArray();
    w.Key("events").BeginArray();
    for (const auto& e : t.events) {
      const pb::Op& op = e.op->op;
      w.BeginObject();
      w.Key("kind").String(e.kind);
      w.Key("op").String(HashHex(e.op->hash));
      w.Key("envelope").String(OpEnvelopePath(e.op->hash));
      w.Key("body").String(OpBodyPath(e.op->hash));
      w.Key("author").String(Hex(op.author()));
      w.Key("scope").String(ScopeText(op));
      w.Key("seq").Uint(op.seq());
      w.Key("prev").String(Hex(op.prev()));
      w.Key("hlc");
      HlcJson(w, op.hlc());
      if (e.version != 0) w.Key("version").Uint(e.version);
      w.Key("summary").String(Describe(e));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.str() + "\n";
}

std::string CustodyHtml(const Custody& c) {
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n<title>Estelik evidence custody report</title>\n"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #999;padding:4px;vertical-align:top;text-align:left}"
      "pre{white-space:pre-wrap}</style></head><body>\n"
      "<h1>Evidence custody report</h1>\n<p>Exported " +
      Html(Iso8601(c.exported_unix_ms)) + " by key " + Html(Hex(c.exporter)) + " (fingerprint " +
      Html(Fp(c.exporter)) +
      "). Check every file with <code>estelik verify</code>; this page is generated from the "
      "signed ops and verification fails if it differs from them.</p>\n<h2>Authors</h2>\n"
      "<table><tr><th>key</th><th>fingerprint</th></tr>\n";
  for (const auto& a : c.authors) h += Row({Hex(a), Fp(a)});
  h += "</table>\n";
  for (const auto& t : c.testimonies) {
    h += "<h2>Testimony " + Html(Hex(t.id)) + "</h2>\n<p>Author " + Html(Fp(t.author)) +
         (t.withdrawn ? ". <strong>Withdrawn by its author: only the tombstone is included."
                        "</strong>"
                      : ".") +
         "</p>\n";
    if (!t.exporter_note.empty()) {
      h += "<p><strong>This testimony was " + Html(t.exporter_note) + ".</strong></p>\n";
    }
    for (const auto& v : t.versions) {
      const pb::TestimonyFields& f = v.fields;
      h += "<h3>Version " + std::to_string(v.number) + "</h3>\n<table>\n";
      h += Row({"op", HashHex(v.op->hash)});
      h += Row({"signed at (HLC)", Iso8601(v.op->op.hlc().wall_ms()) + " #" +
                                       std::to_string(v.op->op.hlc().counter())});
      h += Row({"language", f.language()});
      h += Row({"title", f.title()});
      h += "<tr><td>body</td><td><pre>" + Html(f.body()) + "</pre></td></tr>\n";
      std::string tags, places, people;
      for (const auto& s : f.tags()) tags += (tags.empty() ? "" : ", ") + s;
      for (const auto& s : f.places()) places += (places.empty() ? "" : ", ") + s;
      for (const auto& s : f.people()) people += (people.empty() ? "" : ", ") + s;
      h += Row({"tags", tags});
      h += Row({"places", places});
      h += Row({"people", people});
      h += Row({"event dates", f.event_dates().from() + " .. " + f.event_dates().to()});
      for (const auto& [k, val] : SortedMetadata(f)) h += Row({"capture: " + k, val});
      h += "</table>\n";
    }
    if (!t.attachments.empty()) {
      h += "<h3>Attachments</h3>\n<table><tr><th>file</th><th>name</th><th>type</th>"
           "<th>bytes</th><th>BLAKE2b-256</th></tr>\n";
      for (const auto& a : t.attachments) {
        h += Row({AttachmentPath(a.attachment_id()), a.name(), a.media_type(),
                  std::to_string(a.size()), Hex(a.content_hash())});
      }
      h += "</table>\n";
    }
    h += "<h3>Chain of custody</h3>\n<table><tr><th>signed at (HLC)</th><th>by</th>"
         "<th>scope / seq</th><th>what</th><th>op</th></tr>\n";
    for (const auto& e : t.events) {
      const pb::Op& op = e.op->op;
      h += Row({Iso8601(op.hlc().wall_ms()) + " #" + std::to_string(op.hlc().counter()),
                Fp(op.author()), ScopeText(op) + " / " + std::to_string(op.seq()), Describe(e),
                HashHex(e.op->hash)});
    }
    h += "</table>\n";
  }
  h += "</body></html>\n";
  return h;
}

std::string Iso8601(uint64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(unix_ms % 1000));
  return buf;
}

}  // namespace estelik::evidence::internal
