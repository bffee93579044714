// What both sync shells accept as an address and as a network key (sync/orchestrator's
// address.h and network_key.h): `estelik serve --listen`, `estelik sync HOST:PORT`,
// --network-key / --network-key-file and the C API's options.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sync/orchestrator/address.h"
#include "sync/orchestrator/network_key.h"
#include "sync/protocol/replication.h"
#include "tests/support/temp_dir.h"

namespace estelik {
namespace {

using sync::HostPort;
using sync::ParseHostPort;

TEST(OrchestratorAddress, ParsesHostAndPort) {
  Result<HostPort> v4 = ParseHostPort("127.0.0.1:7420");
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7420);
  Result<HostPort> name = ParseHostPort("phone.local:65535");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "phone.local");
  EXPECT_EQ(name->port, 65535);
}

TEST(OrchestratorAddress, ParsesBracketedIpv6) {
  Result<HostPort> v6 = ParseHostPort("[::1]:7420");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7420);
  Result<HostPort> any = ParseHostPort("[::]:0", /*allow_zero=*/true);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "::");
  EXPECT_EQ(any->port, 0);
}

TEST(OrchestratorAddress, PortZeroOnlyWhereAllowed) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:0").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ParseHostPort("127.0.0.1:0", /*allow_zero=*/true).ok());
}

TEST(OrchestratorAddress, RejectsAMissingHostOrPort) {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", ":7420", ""}) {
    Result<HostPort> parsed = ParseHostPort(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << text;
    EXPECT_EQ(parsed.status().message(),
              "expected HOST:PORT, e.g. 127.0.0.1:7420; got '" + std::string(text) + "'");
  }
}

TEST(OrchestratorAddress, RejectsABadPort) {
  for (const char* text :
       {"host:65536", "host:99999999999", "host:12a", "host:-1", "host: 80", "[::1]"}) {
    Result<HostPort> parsed = ParseHostPort(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().message(), "bad port in '" + std::string(text) + "'");
  }
}

const char kHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::vector<uint8_t> Bytes(const crypto::SecretBytes& key) {
  return {key.span().begin(), key.span().end()};
}

std::vector<uint8_t> Counting() {
  std::vector<uint8_t> out(32);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
  return out;
}

TEST(OrchestratorNetworkKey, WithoutOneThePublicDefault) {
  Result<crypto::SecretBytes> key = sync::LoadNetworkKey({});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Bytes(*key), Bytes(sync::DefaultNetworkKey()));
}

TEST(OrchestratorNetworkKey, HexInEitherCaseWithTrailingNewline) {
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& text : {std::string(kHex), upper + "\n"}) {
    Result<crypto::SecretBytes> key = sync::ParseNetworkKeyHex(text, "--network-key");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(Bytes(*key), Counting());
  }
}

TEST(OrchestratorNetworkKey, HexErrorsNameWhereTheKeyCameFrom) {
  Result<crypto::SecretBytes> short_key =
      sync::ParseNetworkKeyHex(std::string(kHex).substr(1), "--network-key");
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(short_key.status().message(),
            "--network-key: a network key is 64 hex digits (32 bytes)");
  std::string bad = kHex;
  bad[10] = 'g';
  Result<crypto::SecretBytes> not_hex = sync::ParseNetworkKeyHex(bad, "--network-key");
  EXPECT_EQ(not_hex.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(not_hex.status().message(), "--network-key: a network key is 64 hex digits");
}

TEST(OrchestratorNetworkKey, FileOfRawBytesOrHex) {
  testing::TempDir dir;
  const std::string raw = dir.File("raw.key");
  const std::vector<uint8_t> bytes = Counting();
  std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 32);
  const std::string hex = dir.File("hex.key");
  std::ofstream(hex) << kHex << "\n";
  for (const std::string& path : {raw, hex}) {
    sync::NetworkKeySource source;
    source.file = path;
    Result<crypto::SecretBytes> key = sync::LoadNetworkKey(source);
    ASSERT_TRUE(key.ok()) << path << ": " << key.status().ToString();
    EXPECT_EQ(Bytes(*key), bytes) << path;
  }
}

TEST(OrchestratorNetworkKey, FileErrors) {
  testing::TempDir dir;
  Result<crypto::SecretBytes> missing = sync::ReadNetworkKeyFile(dir.File("none.key"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot read network key file " + dir.File("none.key"));
  const std::string junk = dir.File("junk.key");
  std::ofstream(junk) << "not a key";
  Result<crypto::SecretBytes> bad = sync::ReadNetworkKeyFile(junk);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), junk + ": a network key is 64 hex digits (32 bytes)");
}

TEST(OrchestratorNetworkKey, RawBytesComeFirst) {
  const std::vector<uint8_t> bytes(32, 0x42);
  sync::NetworkKeySource source;
  source.bytes = bytes.data();
  source.hex = "not even hex";
  Result<crypto::SecretBytes> key = sync::LoadNetworkKey(source);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Bytes(*key), bytes);
}

}  // namespace
}  // namespace estelik
