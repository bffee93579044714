#include "sync/orchestrator/network_key.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "sync/protocol/replication.h"
#include "sync/protocol/secure_channel.h"

namespace estelik::sync {
namespace {

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<crypto::SecretBytes> ParseNetworkKeyHex(std::string hex, const std::string& origin) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  if (hex.size() != 2 * kNetworkKeySize) {
    return InvalidArgument(origin + ": a network key is 64 hex digits (32 bytes)");
  }
  crypto::SecretBytes key(kNetworkKeySize);
  for (size_t i = 0; i < kNetworkKeySize; ++i) {
    const int hi = Nibble(hex[2 * i]);
    const int lo = Nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument(origin + ": a network key is 64 hex digits");
    key.data()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  std::fill(hex.begin(), hex.end(), '\0');
  return key;
}

Result<crypto::SecretBytes> ReadNetworkKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read network key file " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() == kNetworkKeySize) {
    auto key =
        crypto::SecretBytes::CopyOf({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    std::fill(bytes.begin(), bytes.end(), '\0');
    return key;
  }
  return ParseNetworkKeyHex(std::move(bytes), path);
}

Result<crypto::SecretBytes> LoadNetworkKey(NetworkKeySource source) {
  if (source.bytes != nullptr) return crypto::SecretBytes::CopyOf({source.bytes, kNetworkKeySize});
  if (source.hex) return ParseNetworkKeyHex(std::move(*source.hex), source.hex_origin);
  if (source.file) return ReadNetworkKeyFile(*source.file);
  return DefaultNetworkKey();
}

}  // namespace estelik::sync
