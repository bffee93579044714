// Status and Result<T>: the one error type of the Estelik engine.
//
// A Status is OK or carries a Code and a message a user can act on ("wrong passphrase",
// "vault is corrupt or tampered: store.db page 412"). Functions that can fail return a
// Status, or a Result<T> holding either a T or a non-OK Status. Exceptions never cross
// an Estelik API.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace estelik {

enum class Code {
  kOk = 0,
  kInvalidArgument = 1,   // the caller passed something malformed
  kNotFound = 2,          // no such vault, testimony, attachment, contact...
  kAlreadyExists = 3,     // refusing to overwrite
  kWrongPassphrase = 4,   // no key slot opens with this passphrase
  kCorrupt = 5,           // authentication failed or structure broken: corrupt or tampered
  kIo = 6,                // the operating system refused (disk full, permission, ...)
  kLocked = 7,            // the vault is locked; the passphrase is needed again
  kPermissionDenied = 8,  // the author may not do this (not the author, not in the circle)
  kProtocol = 9,          // a peer broke the protocol
  kLimitExceeded = 10,    // a size or rate limit was hit
  kUnsupported = 11,      // a newer format or an unavailable feature
  kAborted = 12,          // cancelled by the caller or superseded
  kInternal = 13,         // a bug in Estelik
};

// Returns a stable lower-case name for `code` ("wrong_passphrase").
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt: vault is corrupt or tampered: store.db page 412"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIo, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status ProtocolError(std::string m) { return {Code::kProtocol, std::move(m)}; }
inline Status LimitExceeded(std::string m) { return {Code::kLimitExceeded, std::move(m)}; }
inline Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
// The one message for a call on a locked vault (after a panic-lock, an auto-lock or a close).
inline Status VaultLocked() {
  return {Code::kLocked, "the vault is locked; unlock it with its passphrase"};
}

// Either a value or a non-OK Status. Accessing value() of a failed Result is a bug (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace estelik

// Returns early from the enclosing function with the status of `expr` if it failed.
#define ESTELIK_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::estelik::Status estelik_status_ = (expr);        \
    if (!estelik_status_.ok()) return estelik_status_; \
  } while (0)

#define ESTELIK_CONCAT_INNER_(a, b) a##b
#define ESTELIK_CONCAT_(a, b) ESTELIK_CONCAT_INNER_(a, b)
// ESTELIK_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from a Result or returns its Status.
#define ESTELIK_ASSIGN_OR_RETURN(lhs, expr) \
  ESTELIK_ASSIGN_OR_RETURN_IMPL_(ESTELIK_CONCAT_(estelik_result_, __LINE__), lhs, expr)
#define ESTELIK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
