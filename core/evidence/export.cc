// ExportBundle: collects a testimony's ops from the vault's log and writes the bundle.
#include <algorithm>
#include <map>
#include <set>

#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/evidence/bundle.h"
#include "core/evidence/evidence.h"
#include "core/store/attachment.h"

namespace estelik::evidence {
namespace {

using internal::AttachmentSource;
using internal::BundleInput;
using internal::ChunkSink;
using internal::RevealedOp;
using internal::TestimonyIdOf;

// Every op of this vault that we can open and that names one of `ids`: the private log and
// every circle, whole chains. O(log size); export is rare.
Result<std::vector<RevealedOp>> CollectOps(log::OpLog& oplog, const std::set<std::string>& ids) {
  std::vector<log::Scope> scopes{log::Scope::Private()};
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> circles, oplog.ListCircles());
  for (auto& c : circles) scopes.push_back(log::Scope::Circle(std::move(c)));
  std::vector<RevealedOp> out;
  for (const auto& scope : scopes) {
    ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> envelopes,
                             oplog.OpsAfter({}, scope, SIZE_MAX));
    for (const auto& env : envelopes) {
      // Redacted by a withdrawal: only the chain link is left, nothing to reveal.
      if (env.op().empty()) continue;
      std::string plain;
      Result<pb::OpBody> body = oplog.OpenBody(env, &plain);
      if (!body.ok()) {
        // No key (relay, removed member, another identity's private op): not ours to reveal.
        if (body.status().code() == Code::kPermissionDenied) continue;
        // Anything else is damage; an export that silently skipped an op could omit a version.
        return Status(body.status().code(), "cannot export: an op in the log cannot be opened (" +
                                                body.status().message() + ")");
      }
      if (!ids.count(TestimonyIdOf(*body))) continue;
      Result<RevealedOp> revealed = internal::RevealOp(env.SerializeAsString(), plain);
      if (!revealed.ok()) {
        if (revealed.status().code() == Code::kUnsupported) {
          return Unsupported("testimony " + Hex(TestimonyIdOf(*body)) +
                             " cannot be exported as evidence: " + revealed.status().message() +
                             " (recorded by an older version of Estelik)");
        }
        return revealed.status();
      }
      out.push_back(std::move(revealed).value());
    }
  }
  return out;
}

}  // namespace

Result<ExportReport> ExportBundle(archive::Archive& archive,
                                  const std::vector<std::string>& testimony_ids,
                                  const std::string& out_path, const ExportOptions& options) {
  if (testimony_ids.empty()) return InvalidArgument("name at least one testimony to export");
  for (const auto& id : testimony_ids) {
    if (id.size() != store::kTestimonyIdSize) {
      return InvalidArgument("testimony id must be " + std::to_string(store::kTestimonyIdSize) +
                             " bytes");
    }
  }
  std::set<std::string> ids(testimony_ids.begin(), testimony_ids.end());
  ESTELIK_ASSIGN_OR_RETURN(std::vector<RevealedOp> ops,
                           CollectOps(archive::ArchiveBackDoor::log(archive), ids));

  BundleInput input;
  input.testimony_ids.assign(ids.begin(), ids.end());
  for (const auto& id : input.testimony_ids) {
    bool any = std::any_of(ops.begin(), ops.end(),
                           [&](const RevealedOp& op) { return TestimonyIdOf(op.parsed) == id; });
    if (!any) return NotFound("no op of this vault names testimony " + Hex(id));
  }
  // Owner-only ops signed by someone else (a misbehaving circle member) are not part of the
  // testimony's history: the materializer ignores them, and so does the export.
  std::map<std::string, std::string> owner;
  for (const auto& op : ops) {
    if (op.parsed.has_testimony_create()) owner[TestimonyIdOf(op.parsed)] = op.op.author();
  }
  for (const auto& op : ops) {  // ops are in (scope, author, seq) order: take the first share
    if (op.parsed.has_share_into_circle()) owner.emplace(TestimonyIdOf(op.parsed), op.op.author());
  }
  std::erase_if(ops, [&](const RevealedOp& op) {
    auto it = owner.find(TestimonyIdOf(op.parsed));
    bool owner_only = op.parsed.has_testimony_create() || op.parsed.has_testimony_edit() ||
                      op.parsed.has_testimony_withdraw() || op.parsed.has_attachment_add() ||
                      op.parsed.has_share_into_circle();
    return owner_only && it != owner.end() && it->second != op.op.author();
  });
  // A withdrawn testimony is exported as its tombstone only: the author withdrew consent,
  // and only the fact of the withdrawal remains.
  std::set<std::string> withdrawn;
  for (const auto& op : ops) {
    if (op.parsed.has_testimony_withdraw()) withdrawn.insert(TestimonyIdOf(op.parsed));
  }
  std::erase_if(ops, [&](const RevealedOp& op) {
    return withdrawn.count(TestimonyIdOf(op.parsed)) && !op.parsed.has_testimony_withdraw();
  });
  input.ops = std::move(ops);

  // Attachments: every one the kept ops name, streamed from the store (each chunk verified,
  // and the content hash checked at the end by the reader).
  internal::Custody custody =
      internal::BuildCustody(input.testimony_ids, input.ops, std::string(), 0);
  store::Store& store = archive::ArchiveBackDoor::store(archive);
  for (const auto& t : custody.testimonies) {
    for (const auto& info : t.attachments) {
      AttachmentSource source;
      source.info = info;
      source.produce = [&store, info](const ChunkSink& sink) -> Status {
        Result<std::unique_ptr<store::AttachmentReader>> reader =
            store.OpenAttachment(info.attachment_id());
        if (!reader.ok()) {
          return NotFound("attachment " + Hex(info.attachment_id()) + " (" + info.name() +
                          ") is not complete on this device; sync it before exporting (" +
                          reader.status().message() + ")");
        }
        std::vector<uint8_t> buffer(store::kChunkSize);
        for (;;) {
          ESTELIK_ASSIGN_OR_RETURN(size_t n, (*reader)->Read(buffer));
          if (n == 0) break;
          ESTELIK_RETURN_IF_ERROR(sink({buffer.data(), n}));
        }
        if ((*reader)->info().content_hash() != info.content_hash()) {
          return Corrupt("attachment " + Hex(info.attachment_id()) +
                         " in the store differs from the one its signed op describes");
        }
        return Status::Ok();
      };
      input.attachments.push_back(std::move(source));
    }
  }
  ExportOptions opts = options;
  if (opts.export_unix_ms == 0) opts.export_unix_ms = archive::WallClockMs();
  return internal::WriteBundle(input, archive.identity(), out_path, opts);
}

}  // namespace estelik::evidence
