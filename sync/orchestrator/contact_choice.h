// Which contacts a dial tries at an address (transport v2 answers only a dialer that names the
// contact it dials, see sync/net/contact_dial.h): the one the user named, or every contact,
// the one that answered there last first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/log/op_log.h"
#include "sync/net/contact_dial.h"

namespace estelik::sync {

// The contacts `text` names: those whose name is exactly `text`; if none, those whose 64-hex
// public key is `text` or, for 4 or more hex digits, starts with it (a fingerprint or a prefix
// of one; case-insensitive). Empty when none; several when `text` is ambiguous.
std::vector<net::ContactKey> MatchContacts(const std::vector<log::Contact>& contacts,
                                           const std::string& text);

// `candidates` with `last_answered` (if among them) moved to the front, the rest in order.
std::vector<net::ContactKey> DialOrder(std::vector<net::ContactKey> candidates,
                                       const std::optional<net::ContactKey>& last_answered);

}  // namespace estelik::sync
