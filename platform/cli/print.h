// How the CLI shows records: human-readable text, or JSON objects for --json.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "proto/record.pb.h"

namespace estelik::cli {

// `text` made safe for a terminal: every C0 control (U+0000..U+001F; a newline and a tab are
// kept when `block`, for a body printed as a block), DEL, every C1 control (U+0080..U+009F) and
// every byte that is not valid UTF-8 become U+FFFD, so data the CLI did not write itself (titles,
// bodies, tags, notes, names, file names, what a peer or a bundle says) cannot move the cursor,
// retitle the window, clear the screen or send any other escape sequence. Everything printed
// for a person goes through it (JSON output escapes controls itself).
std::string Printable(std::string_view text, bool block = false);

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
