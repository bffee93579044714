// Verbs for people and circles: id, contacts, circles, share.
#include <cstdio>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/json.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"

namespace estelik::cli {
namespace {

void PrintJson(const JsonWriter& w) { std::printf("%s\n", w.str().c_str()); }

Result<std::string> ResolveCircle(archive::Archive& a, const std::string& prefix) {
  ESTELIK_ASSIGN_OR_RETURN(auto circles, a.Circles());
  std::vector<std::string> matches;
  for (const auto& c : circles) {
    if (Hex(c.circle_id).rfind(prefix, 0) == 0 || c.name == prefix) matches.push_back(c.circle_id);
  }
  if (matches.empty()) return NotFound("no circle '" + prefix + "' (see estelik circles list)");
  if (matches.size() > 1) return InvalidArgument("circle '" + prefix + "' is ambiguous");
  return matches.front();
}

Status ExpectArgs(const Context& ctx, size_t n, const char* usage) {
  if (ctx.args.positional().size() != n) return InvalidArgument(std::string("usage: ") + usage);
  return Status::Ok();
}

}  // namespace

Status RunId(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  const auto& key = archive->identity().public_key();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("public_key").String(Hex(key));
    w.Key("fingerprint").String(log::Fingerprint(key)).Key("qr").String(log::QrPayload(key));
    w.EndObject();
    PrintJson(w);
  } else {
    std::printf("public key:  %s\nfingerprint: %s\nQR payload:  %s\n", Hex(key).c_str(),
                log::Fingerprint(key).c_str(), log::QrPayload(key).c_str());
  }
  return Status::Ok();
}

Status RunContacts(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  std::string verb = pos.empty() ? "list" : pos[0];
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  if (verb == "add" || verb == "remove") {
    ESTELIK_RETURN_IF_ERROR(ExpectArgs(ctx, 2, "estelik contacts add|remove KEY [--name N]"));
    ESTELIK_ASSIGN_OR_RETURN(log::PublicKey key, log::ParsePublicKey(pos[1]));
    if (verb == "add") {
      ESTELIK_RETURN_IF_ERROR(archive->AddContact(key, ctx.args.Get("name").value_or("")));
      std::string safety = log::SafetyNumber(archive->identity().public_key(), key);
      if (ctx.json) {
        JsonWriter w;
        w.BeginObject().Key("added").String(Hex(key)).Key("safety_number").String(safety);
        PrintJson(w.EndObject());
      } else {
        std::printf("Added. Compare this safety number with them, aloud or by QR:\n  %s\n",
                    safety.c_str());
      }
    } else {
      ESTELIK_RETURN_IF_ERROR(archive->RemoveContact(key));
      std::printf(ctx.json ? "{\"removed\":true}\n" : "Removed.\n");
    }
    return Status::Ok();
  }
  if (verb != "list") return InvalidArgument("expected contacts add|list|remove");
  ESTELIK_ASSIGN_OR_RETURN(auto contacts, archive->Contacts());
  JsonWriter w;
  w.BeginArray();
  for (const auto& c : contacts) {
    std::string safety = log::SafetyNumber(archive->identity().public_key(), c.public_key);
    if (ctx.json) {
      w.BeginObject().Key("name").String(c.name).Key("public_key").String(Hex(c.public_key));
      w.Key("safety_number").String(safety).EndObject();
    } else {
      std::printf("%-16s %s\n                 safety number %s\n", Printable(c.name).c_str(),
                  Hex(c.public_key).c_str(), safety.c_str());
    }
  }
  w.EndArray();
  if (ctx.json) PrintJson(w);
  return Status::Ok();
}

Status RunCircles(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  std::string verb = pos.empty() ? "list" : pos[0];
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  if (verb == "create") {
    ESTELIK_RETURN_IF_ERROR(ExpectArgs(ctx, 2, "estelik circles create NAME"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, archive->CreateCircle(pos[1]));
    std::printf(ctx.json ? "{\"circle\":\"%s\"}\n" : "%s\n", Hex(id).c_str());
    return Status::Ok();
  }
  if (verb == "add" || verb == "remove") {
    ESTELIK_RETURN_IF_ERROR(ExpectArgs(ctx, 3, "estelik circles add|remove CIRCLE KEY"));
    ESTELIK_ASSIGN_OR_RETURN(std::string circle, ResolveCircle(*archive, pos[1]));
    ESTELIK_ASSIGN_OR_RETURN(log::PublicKey key, log::ParsePublicKey(pos[2]));
    ESTELIK_RETURN_IF_ERROR(verb == "add" ? archive->AddCircleMember(circle, key)
                                          : archive->RemoveCircleMember(circle, key));
    std::printf(ctx.json ? "{\"ok\":true}\n"
                         : (verb == "add" ? "Added to the circle.\n"
                                          : "Removed; the circle has a new key (new epoch).\n"));
    return Status::Ok();
  }
  if (verb != "list") return InvalidArgument("expected circles create|add|remove|list");
  ESTELIK_ASSIGN_OR_RETURN(auto circles, archive->Circles());
  JsonWriter w;
  w.BeginArray();
  for (const auto& c : circles) {
    if (ctx.json) {
      w.BeginObject().Key("id").String(Hex(c.circle_id)).Key("name").String(c.name);
      w.Key("epoch").Uint(c.epoch).Key("relay").Bool(c.carrier_only).Key("members").BeginArray();
      for (const auto& m : c.members) w.String(Hex(m));
      w.EndArray().EndObject();
    } else {
      std::printf("%s  %-20s epoch %u, %zu member(s)%s\n", ShortId(c.circle_id).c_str(),
                  Printable(c.name).c_str(), c.epoch, c.members.size(),
                  c.carrier_only ? ", relay" : "");
    }
  }
  w.EndArray();
  if (ctx.json) PrintJson(w);
  return Status::Ok();
}

Status RunShare(const Context& ctx) {
  ESTELIK_RETURN_IF_ERROR(ExpectArgs(ctx, 2, "estelik share ID CIRCLE"));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, archive->ResolveId(ctx.args.positional()[0]));
  ESTELIK_ASSIGN_OR_RETURN(std::string circle, ResolveCircle(*archive, ctx.args.positional()[1]));
  ESTELIK_RETURN_IF_ERROR(archive->Share(id, circle));
  std::printf(ctx.json ? "{\"shared\":true}\n" : "Shared; members receive it at the next sync.\n");
  return Status::Ok();
}

}  // namespace estelik::cli
