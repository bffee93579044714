// How the CLI shows records: human-readable text, or JSON objects for --json.
#pragma once

#include <string>

#include "core/json.h"
#include "proto/record.pb.h"

namespace estelik::cli {

std::string HlcTime(const pb::Hlc& hlc);  // "2026-11-24 21:30:05 UTC"
const char* KindName(pb::AttachmentKind kind);
const char* ScopeName(pb::ConsentScope scope);

void WriteFields(JsonWriter& w, const pb::TestimonyFields& f);
void WriteAttachment(JsonWriter& w, const pb::AttachmentInfo& a);
void WriteTestimony(JsonWriter& w, const pb::Testimony& t);

void PrintTestimony(const pb::Testimony& t);
// One line: id prefix, date, language, title.
void PrintTestimonyLine(const pb::Testimony& t);
// Replaces the highlight markers of a snippet for a terminal (bold) or plain text ([...]).
std::string RenderSnippet(const std::string& snippet, bool terminal);

}  // namespace estelik::cli
