// Evidence export and offline verification for estelik.h, over core/evidence. The report and
// the verdict cross the boundary as UTF-8 JSON (docs/C_API.md gives their keys): they are
// read by people and by scripts, and no proto message describes them.
#include "core/evidence/evidence.h"

#include <cstdio>
#include <string>
#include <vector>

#include "platform/c/handles.h"

using estelik::Code;
using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Guard;
using estelik::capi::Require;
using estelik::capi::WithArchive;

namespace {

// A minimal JSON writer: objects, arrays, strings, numbers, booleans. Commas are placed by
// tracking whether the current container already has an element.
class Json {
 public:
  Json& Begin(char bracket) {
    Comma();
    out_.push_back(bracket);
    first_.push_back(true);
    return *this;
  }
  Json& End(char bracket) {
    out_.push_back(bracket);
    first_.pop_back();
    return *this;
  }
  Json& Key(const char* key) {
    Comma();
    Quote(key);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  Json& String(std::string_view text) {
    Comma();
    Quote(text);
    return *this;
  }
  Json& Number(uint64_t n) {
    Comma();
    out_ += std::to_string(n);
    return *this;
  }
  Json& Bool(bool b) {
    Comma();
    out_ += b ? "true" : "false";
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  void Comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
    }
  }
  void Quote(std::string_view text) {
    out_.push_back('"');
    for (unsigned char c : text) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_.push_back(static_cast<char>(c));  // UTF-8 passes through
          }
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

std::string Hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string ReportJson(const estelik::evidence::ExportReport& r) {
  Json j;
  j.Begin('{');
  j.Key("bundle_path").String(r.bundle_path);
  j.Key("testimonies").Number(r.testimonies);
  j.Key("ops").Number(r.ops);
  j.Key("attachments").Number(r.attachments);
  j.Key("bytes").Number(r.bytes);
  j.Key("withdrawn").Begin('[');
  for (const std::string& id : r.withdrawn) j.String(Hex(id));
  j.End(']');
  j.Key("manifest_hash").String(r.manifest_hash);
  j.End('}');
  return j.str();
}

std::string VerdictJson(const estelik::evidence::Verdict& v) {
  Json j;
  j.Begin('{');
  j.Key("ok").Bool(v.ok);
  j.Key("problems").Begin('[');
  for (const std::string& p : v.problems) j.String(p);
  j.End(']');
  j.Key("exporter").String(Hex(v.exporter));
  j.Key("exported_unix_ms").Number(v.exported_unix_ms);
  j.Key("authors").Begin('[');
  for (const std::string& a : v.authors) j.String(Hex(a));
  j.End(']');
  j.Key("testimonies").Begin('[');
  for (const auto& t : v.testimonies) {
    j.Begin('{');
    j.Key("id").String(Hex(t.id));
    j.Key("author").String(Hex(t.author));
    j.Key("versions").Number(t.versions);
    j.Key("attachments").Number(t.attachments);
    j.Key("ops").Number(t.ops);
    j.Key("withdrawn").Bool(t.withdrawn);
    j.End('}');
  }
  j.End(']');
  j.Key("ops").Number(v.ops);
  j.Key("versions").Number(v.versions);
  j.Key("attachments").Number(v.attachments);
  j.Key("manifest_hash").String(v.manifest_hash);
  j.End('}');
  return j.str();
}

}  // namespace

extern "C" {

estelik_status estelik_export(estelik_vault* vault, const char* const* testimony_ids, size_t count,
                              const char* out_path, estelik_buffer* out_report,
                              estelik_error* err) {
  if (out_report != nullptr) *out_report = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_path, "out_path"));
    if (count == 0) return estelik::InvalidArgument("export needs at least one testimony id");
    ESTELIK_RETURN_IF_ERROR(Require(testimony_ids, "testimony_ids"));
    std::vector<std::string> ids;
    ids.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      ESTELIK_ASSIGN_OR_RETURN(std::string id,
                               estelik::capi::TestimonyId(archive, testimony_ids[i]));
      ids.push_back(std::move(id));
    }
    ESTELIK_ASSIGN_OR_RETURN(auto report, estelik::evidence::ExportBundle(archive, ids, out_path));
    return out_report == nullptr ? Status::Ok()
                                 : estelik::capi::ToBuffer(ReportJson(report), out_report);
  });
}

estelik_status estelik_verify(const char* bundle_path, const uint8_t* expected_exporter,
                              estelik_buffer* out_verdict, estelik_error* err) {
  if (out_verdict != nullptr) *out_verdict = estelik_buffer{nullptr, 0};
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(bundle_path, "bundle_path"));
    estelik::evidence::VerifyOptions options;
    if (expected_exporter != nullptr) {
      estelik::log::PublicKey key;
      std::copy(expected_exporter, expected_exporter + key.size(), key.begin());
      options.expected_exporter = key;
    }
    ESTELIK_ASSIGN_OR_RETURN(auto verdict, estelik::evidence::VerifyBundle(bundle_path, options));
    if (out_verdict != nullptr) {
      ESTELIK_RETURN_IF_ERROR(estelik::capi::ToBuffer(VerdictJson(verdict), out_verdict));
    }
    if (verdict.ok) return Status::Ok();
    // The verdict (with every problem) is in out_verdict; the error carries the headline.
    return Status(Code::kCorrupt, "evidence bundle does not verify: " +
                                      (verdict.problems.empty() ? std::string("no reason given")
                                                                : verdict.problems.front()));
  });
}

}  // extern "C"
