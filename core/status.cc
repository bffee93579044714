#include "core/status.h"

namespace estelik {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kWrongPassphrase:
      return "wrong_passphrase";
    case Code::kCorrupt:
      return "corrupt";
    case Code::kIo:
      return "io";
    case Code::kLocked:
      return "locked";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kProtocol:
      return "protocol";
    case Code::kLimitExceeded:
      return "limit_exceeded";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kAborted:
      return "aborted";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace estelik
