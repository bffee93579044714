// ParseImportJsonl and Archive::ImportTestimonies: bulk import in one transaction.
#include "core/archive/import.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "core/archive/archive.h"
#include "proto/api.pb.h"

namespace estelik::archive {
namespace {

Status LineError(std::string_view source, size_t line_no, const std::string& what) {
  return InvalidArgument(std::string(source) + " line " + std::to_string(line_no) + ": " + what);
}

pb::TestimonyFields FieldsOf(const pb::ImportRecord& r) {
  pb::TestimonyFields f;
  f.set_language(r.language());
  f.set_title(r.title());
  f.set_body(r.body());
  for (const auto& t : r.tags()) f.add_tags(t);
  for (const auto& p : r.places()) f.add_places(p);
  for (const auto& p : r.people()) f.add_people(p);
  if (!r.event_date().empty()) {
    f.mutable_event_dates()->set_from(r.event_date());
    f.mutable_event_dates()->set_to(r.event_date_to().empty() ? r.event_date() : r.event_date_to());
  }
  return f;
}

}  // namespace

Result<std::vector<pb::TestimonyFields>> ParseImportJsonl(std::string_view data,
                                                          std::string_view source) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::vector<pb::TestimonyFields> records;
  size_t line_no = 0;
  while (!data.empty()) {
    const size_t end = data.find('\n');
    std::string_view line = data.substr(0, end);
    data.remove_prefix(end == std::string_view::npos ? data.size() : end + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    pb::ImportRecord r;
    auto status = google::protobuf::util::JsonStringToMessage(line, &r, options);
    if (!status.ok()) {
      return LineError(source, line_no,
                       "not a testimony record (" + std::string(status.message()) + ")");
    }
    if (r.title().empty() && r.body().empty())
      return LineError(source, line_no, "no title or body");
    records.push_back(FieldsOf(r));
  }
  return records;
}

Result<size_t> Archive::ImportTestimonies(const std::vector<pb::TestimonyFields>& records,
                                          const CancellableProgressFn& progress) {
  const uint64_t total = records.size();
  auto report = [&](uint64_t done) -> Status {
    if (progress && !progress(done, total)) return Cancelled("the import");
    return Status::Ok();
  };
  ESTELIK_RETURN_IF_ERROR(report(0));
  // One transaction: an error, a cancel or a lock rolls every testimony back (the Batch's
  // destructor), and the whole import costs one fsync.
  ESTELIK_ASSIGN_OR_RETURN(store::Store::Batch batch, store_->BeginBatch());
  uint64_t done = 0;
  for (const auto& fields : records) {
    ESTELIK_RETURN_IF_ERROR(store_->interrupt().Check("importing"));
    ESTELIK_RETURN_IF_ERROR(AddTestimony(fields).status());
    ESTELIK_RETURN_IF_ERROR(report(++done));
  }
  ESTELIK_RETURN_IF_ERROR(batch.Commit());
  return static_cast<size_t>(done);
}

}  // namespace estelik::archive
