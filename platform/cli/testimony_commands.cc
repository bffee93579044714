// Verbs on testimonies: add, edit, show, list, history, withdraw, search, attachment, import.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/archive/import.h"
#include "core/bytes.h"
#include "core/ids.h"
#include "core/json.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"
#include "platform/cli/terminal.h"
#include "proto/api.pb.h"

namespace estelik::cli {
namespace {

void PrintJson(const JsonWriter& w) { std::printf("%s\n", w.str().c_str()); }

// The testimony a command changed or read: as JSON with --json, else as `print_plain` says.
template <typename Fn>
Status PrintResult(const Context& ctx, const pb::Testimony& t, Fn&& print_plain) {
  if (ctx.json) {
    JsonWriter w;
    WriteTestimony(w, t);
    PrintJson(w);
  } else {
    print_plain();
  }
  return Status::Ok();
}

Result<std::string> ReadAll(const std::string& path) {
  std::ostringstream out;
  if (path == "-") {
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  out << in.rdbuf();
  return out.str();
}

// "2011-12-16" or "2011-12-16..2011-12-17".
Status ParseDateRange(const std::string& text, pb::DateRange* range) {
  size_t dots = text.find("..");
  std::string from = dots == std::string::npos ? text : text.substr(0, dots);
  std::string to = dots == std::string::npos ? text : text.substr(dots + 2);
  for (const std::string& d : {from, to}) {
    bool ok = !d.empty() && d.size() <= 10;
    for (size_t i = 0; ok && i < d.size(); ++i) {
      ok = (i == 4 || i == 7) ? d[i] == '-' : std::isdigit(static_cast<unsigned char>(d[i]));
    }
    if (!ok || (d.size() != 4 && d.size() != 7 && d.size() != 10)) {
      return InvalidArgument("'" + text + "' is not a date (YYYY-MM-DD, YYYY-MM, YYYY, or A..B)");
    }
  }
  range->set_from(from);
  range->set_to(to);
  return Status::Ok();
}

// Applies the content flags of add/edit to `fields`; flags not given leave fields as they are.
Status ApplyFieldFlags(const Args& args, pb::TestimonyFields* f) {
  if (auto v = args.Get("title")) f->set_title(*v);
  if (auto v = args.Get("body")) f->set_body(*v);
  if (auto v = args.Get("body-file")) {
    ESTELIK_ASSIGN_OR_RETURN(std::string body, ReadAll(*v));
    f->set_body(body);
  }
  if (auto v = args.Get("lang")) f->set_language(*v);
  if (args.Has("tag")) {
    f->clear_tags();
    for (const auto& t : args.GetAll("tag")) f->add_tags(t);
  }
  if (args.Has("place")) {
    f->clear_places();
    for (const auto& p : args.GetAll("place")) f->add_places(p);
  }
  if (args.Has("person")) {
    f->clear_people();
    for (const auto& p : args.GetAll("person")) f->add_people(p);
  }
  if (auto v = args.Get("event-date"))
    ESTELIK_RETURN_IF_ERROR(ParseDateRange(*v, f->mutable_event_dates()));
  return Status::Ok();
}

Result<pb::ListFilter> FilterFromFlags(const Args& args) {
  pb::ListFilter filter;
  if (auto v = args.Get("from")) filter.mutable_event_dates()->set_from(*v);
  if (auto v = args.Get("to")) filter.mutable_event_dates()->set_to(*v);
  for (const auto& t : args.GetAll("tag")) filter.add_tags(t);
  for (const auto& p : args.GetAll("place")) filter.add_places(p);
  for (const auto& l : args.GetAll("lang")) filter.add_languages(l);
  filter.set_include_withdrawn(args.Has("withdrawn"));
  return filter;
}

// Cursors are bytes; on the command line they travel as hex.
Result<pb::PageRequest> PageFromFlags(const Args& args) {
  pb::PageRequest page;
  if (auto v = args.Get("limit")) {
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0' || n <= 0 || n > 500) {
      return InvalidArgument("--limit must be a number from 1 to 500");
    }
    page.set_limit(static_cast<uint32_t>(n));
  }
  if (auto v = args.Get("cursor")) {
    if (v->size() % 2 != 0) return InvalidArgument("--cursor is not a cursor printed by estelik");
    std::string bytes;
    for (size_t i = 0; i < v->size(); i += 2) {
      char* end = nullptr;
      std::string byte = v->substr(i, 2);
      long b = std::strtol(byte.c_str(), &end, 16);
      if (*end != '\0') return InvalidArgument("--cursor is not a cursor printed by estelik");
      bytes.push_back(static_cast<char>(b));
    }
    page.set_cursor(bytes);
  }
  return page;
}

Result<std::string> OneId(const Context& ctx, archive::Archive& a, size_t expected_args = 1) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != expected_args) {
    return InvalidArgument("expected a testimony id (see estelik " +
                           std::string(expected_args == 1 ? "show" : "attachment") + " --help)");
  }
  return a.ResolveId(pos[0]);
}

class Progress {
 public:
  explicit Progress(std::string label) : label_(std::move(label)) {}
  archive::ProgressFn Fn() {
    return [this](uint64_t done, uint64_t total) {
      if (!bar_) bar_ = std::make_unique<ProgressBar>(label_, total);
      bar_->Update(done);
    };
  }

 private:
  std::string label_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace

Status RunAdd(const Context& ctx) {
  pb::TestimonyFields fields;
  ESTELIK_RETURN_IF_ERROR(ApplyFieldFlags(ctx.args, &fields));
  if (fields.title().empty()) return InvalidArgument("--title is required");
  if (!ctx.args.positional().empty()) {
    return InvalidArgument("unexpected argument '" + ctx.args.positional()[0] + "'");
  }
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->AddTestimony(fields));
  for (const std::string& path : ctx.args.GetAll("attach")) {
    Progress progress("attaching " + path);
    ESTELIK_RETURN_IF_ERROR(archive->AttachFile(t.id(), path, {}, progress.Fn()).status());
  }
  ESTELIK_ASSIGN_OR_RETURN(t, archive->GetTestimony(t.id()));
  return PrintResult(ctx, t, [&] { std::printf("%s\n", Hex(t.id()).c_str()); });
}

Status RunEdit(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, OneId(ctx, *archive));
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony current, archive->GetTestimony(id));
  if (current.withdrawn())
    return InvalidArgument("this testimony was withdrawn; it cannot be edited");
  pb::TestimonyFields fields = current.fields();
  ESTELIK_RETURN_IF_ERROR(ApplyFieldFlags(ctx.args, &fields));
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->EditTestimony(id, fields));
  return PrintResult(
      ctx, t, [&] { std::printf("%s version %u\n", Hex(t.id()).c_str(), t.current_version()); });
}

Status RunShow(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, OneId(ctx, *archive));
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->GetTestimony(id));
  return PrintResult(ctx, t, [&] { PrintTestimony(t); });
}

Status RunList(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(pb::ListFilter filter, FilterFromFlags(ctx.args));
  ESTELIK_ASSIGN_OR_RETURN(pb::PageRequest page, PageFromFlags(ctx.args));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyPage result, archive->List(filter, page));
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("testimonies").BeginArray();
    for (const auto& t : result.testimonies()) WriteTestimony(w, t);
    w.EndArray().Key("next_cursor").String(Hex(result.next_cursor())).EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  for (const auto& t : result.testimonies()) PrintTestimonyLine(t);
  if (!result.next_cursor().empty()) {
    std::printf("more: estelik list --cursor %s\n", Hex(result.next_cursor()).c_str());
  }
  return Status::Ok();
}

Status RunHistory(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, OneId(ctx, *archive));
  ESTELIK_ASSIGN_OR_RETURN(pb::History history, archive->History(id));
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->GetTestimony(id));
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("id").String(Hex(id)).Key("withdrawn").Bool(t.withdrawn());
    w.Key("versions").BeginArray();
    for (const auto& v : history.versions()) {
      w.BeginObject().Key("version").Uint(v.version()).Key("time").String(HlcTime(v.hlc()));
      w.Key("author").String(Hex(v.author())).Key("blake2b").String(Hex(v.content_hash()));
      WriteFields(w, v.fields());
      w.EndObject();
    }
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  if (t.withdrawn()) {
    std::printf("withdrawn: only the tombstone %s remains\n", Hex(t.tombstone_hash()).c_str());
  }
  for (const auto& v : history.versions()) {
    std::printf("--- version %u, %s%s, blake2b %s\n%s\n\n%s\n\n", v.version(),
                HlcTime(v.hlc()).c_str(), v.version() == 1 ? " (original)" : "",
                ShortId(v.content_hash()).c_str(), Printable(v.fields().title()).c_str(),
                Printable(v.fields().body(), /*block=*/true).c_str());
  }
  return Status::Ok();
}

Status RunWithdraw(const Context& ctx) {
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, OneId(ctx, *archive));
  if (!ctx.args.Has("yes")) {
    if (isatty(STDIN_FILENO) != 1) {
      return InvalidArgument("withdrawal destroys the content; confirm with --yes");
    }
    std::fprintf(stderr, "Withdraw %s? Its content and attachments are destroyed. [y/N] ",
                 Hex(id).c_str());
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      return Status(Code::kAborted, "not withdrawn");
    }
  }
  ESTELIK_RETURN_IF_ERROR(archive->Withdraw(id));
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->GetTestimony(id));
  return PrintResult(
      ctx, t, [&] { std::printf("withdrawn; tombstone %s\n", Hex(t.tombstone_hash()).c_str()); });
}

Status RunSearch(const Context& ctx) {
  if (ctx.args.positional().empty()) return InvalidArgument("what should I search for?");
  pb::SearchQuery query;
  std::string text;
  for (const auto& p : ctx.args.positional()) text += (text.empty() ? "" : " ") + p;
  query.set_text(text);
  ESTELIK_ASSIGN_OR_RETURN(*query.mutable_filter(), FilterFromFlags(ctx.args));
  ESTELIK_ASSIGN_OR_RETURN(*query.mutable_page(), PageFromFlags(ctx.args));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(pb::SearchPage result, archive->Search(query));
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("query").String(text).Key("hits").BeginArray();
    for (const auto& h : result.hits()) {
      w.BeginObject().Key("id").String(Hex(h.testimony_id())).Key("rank").Double(h.rank());
      w.Key("language").String(h.language()).Key("title").String(h.title());
      w.Key("title_snippet").String(RenderSnippet(h.title_snippet(), false));
      w.Key("body_snippet").String(RenderSnippet(h.body_snippet(), false));
      w.EndObject();
    }
    w.EndArray().Key("next_cursor").String(Hex(result.next_cursor())).EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  bool terminal = isatty(STDOUT_FILENO) == 1;
  if (result.hits_size() == 0) {
    std::printf("no testimony matches '%s'\n", Printable(text).c_str());
  }
  for (const auto& h : result.hits()) {
    std::printf("%s  [%s]  %s\n    %s\n", ShortId(h.testimony_id()).c_str(),
                Printable(h.language()).c_str(), RenderSnippet(h.title_snippet(), terminal).c_str(),
                RenderSnippet(h.body_snippet(), terminal).c_str());
  }
  if (!result.next_cursor().empty()) {
    std::printf("more: add --cursor %s\n", Hex(result.next_cursor()).c_str());
  }
  return Status::Ok();
}

Status RunAttachment(const Context& ctx) {
  auto out = ctx.args.Get("out");
  if (!out) return InvalidArgument("--out FILE is required");
  const auto& pos = ctx.args.positional();
  if (pos.size() != 2) return InvalidArgument("expected a testimony id and an attachment number");
  char* end = nullptr;
  long n = std::strtol(pos[1].c_str(), &end, 10);
  if (end == pos[1].c_str() || *end != '\0' || n < 1) {
    return InvalidArgument("attachment number must be 1 or more");
  }
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(std::string id, archive->ResolveId(pos[0]));
  // The engine counts attachments from 0; people (and this command) from 1.
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, archive->GetTestimony(id));
  if (n > t.attachments_size()) {
    return NotFound("testimony has " + std::to_string(t.attachments_size()) +
                    " attachment(s); there is no number " + std::to_string(n));
  }
  Progress progress("writing " + *out);
  ESTELIK_ASSIGN_OR_RETURN(
      pb::AttachmentInfo info,
      archive->ExportAttachment(id, static_cast<size_t>(n - 1), *out, progress.Fn()));
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Key("out").String(*out).Key("attachment");
    WriteAttachment(w, info);
    w.EndObject();
    PrintJson(w);
  } else {
    std::printf("wrote %s (%s), blake2b verified %s\n", out->c_str(),
                HumanSize(info.size()).c_str(), Hex(info.content_hash()).c_str());
  }
  return Status::Ok();
}

Status RunImport(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 1) return InvalidArgument("expected one JSONL file (or - for stdin)");
  ESTELIK_ASSIGN_OR_RETURN(std::string data, ReadAll(pos[0]));
  // Parse everything first: a bad line anywhere imports nothing.
  ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::TestimonyFields> records,
                           archive::ParseImportJsonl(data, pos[0]));
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ProgressBar bar("importing", records.size());
  ESTELIK_ASSIGN_OR_RETURN(size_t done,
                           archive->ImportTestimonies(records, [&](uint64_t n, uint64_t) {
                             bar.Update(n);
                             return true;
                           }));
  bar.Finish();
  if (ctx.json) {
    std::printf("{\"imported\":%zu}\n", done);
  } else {
    std::printf("imported %zu testimonies\n", done);
  }
  return Status::Ok();
}

}  // namespace estelik::cli
