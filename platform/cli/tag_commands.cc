// Verbs on tags and annotations: tag, untag, annotate. Each is a signed op: on a shared
// testimony it goes to the circle (any member may), on a private one it stays on this device.
#include <cstdio>
#include <string>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/json.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"

namespace estelik::cli {
namespace {

struct Target {
  std::unique_ptr<archive::Archive> archive;
  std::string id;
  std::string text;  // the tag or the annotation
};

Result<Target> Open(const Context& ctx, const char* verb, const char* what) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 2) {
    return InvalidArgument(std::string("expected a testimony id and ") + what + " (see estelik " +
                           verb + " --help)");
  }
  Target t;
  ESTELIK_ASSIGN_OR_RETURN(t.archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(t.id, t.archive->ResolveId(pos[0]));
  t.text = pos[1];
  return t;
}

// The testimony's effective tags (the author's and the members') and annotations.
Status Report(const Context& ctx, archive::Archive& a, const std::string& id) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, a.GetTestimony(id));
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("id").String(Hex(id)).Key("tags").BeginArray();
    for (const auto& tag : t.tags()) w.String(tag);
    w.EndArray().Key("annotations").BeginArray();
    for (const auto& n : t.annotations()) {
      w.BeginObject().Key("id").String(Hex(n.annotation_id()));
      w.Key("author").String(Hex(n.author())).Key("text").String(n.text());
      w.Key("language").String(n.language()).Key("added").String(HlcTime(n.added()));
      w.EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.str().c_str());
    return Status::Ok();
  }
  std::string tags;
  for (const auto& tag : t.tags()) tags += (tags.empty() ? "" : ", ") + Printable(tag);
  std::printf("%s tags: %s\n", ShortId(id).c_str(), tags.empty() ? "(none)" : tags.c_str());
  for (const auto& n : t.annotations()) {
    std::printf("  note by %s, %s: %s\n", ShortId(n.author()).c_str(), HlcTime(n.added()).c_str(),
                Printable(n.text()).c_str());
  }
  return Status::Ok();
}

}  // namespace

Status RunTag(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(Target t, Open(ctx, "tag", "a tag"));
  ESTELIK_RETURN_IF_ERROR(t.archive->AddTag(t.id, t.text));
  return Report(ctx, *t.archive, t.id);
}

Status RunUntag(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(Target t, Open(ctx, "untag", "a tag"));
  ESTELIK_RETURN_IF_ERROR(t.archive->RemoveTag(t.id, t.text));
  return Report(ctx, *t.archive, t.id);
}

Status RunAnnotate(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(Target t, Open(ctx, "annotate", "the text"));
  std::string lang = ctx.args.Get("lang").value_or("");
  ESTELIK_RETURN_IF_ERROR(t.archive->Annotate(t.id, t.text, lang).status());
  return Report(ctx, *t.archive, t.id);
}

}  // namespace estelik::cli
