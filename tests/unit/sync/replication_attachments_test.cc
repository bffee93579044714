// Attachment have/want of the replication protocol: chunks flow to the side that lacks them,
// only missing chunks are ever asked for (so a cut transfer resumes), and a bad chunk closes
// the session. The vault side here is an in-memory Replica whose "sealed" chunks are checked
// against their expected bytes, because Archive::CircleAttachments (which makes real vaults
// list shared attachments) belongs to the op-log layer; the end-to-end version with real
// Archives lives with the convergence tests once that lands.
#include <gtest/gtest.h>

#include <map>

#include "core/log/identity.h"
#include "tests/unit/sync/sim_link.h"

namespace estelik::testing {
namespace {

const std::string kCircle(32, 'C');
const std::string kAttachment(16, 'A');

std::string SealedBytes(uint64_t index) {
  return "sealed chunk " + std::to_string(index) + std::string(900, static_cast<char>(index));
}

class MemoryReplica : public sync::Replica {
 public:
  MemoryReplica() : identity_(log::Identity::Generate()) {}

  const log::PublicKey& key() const { return identity_.public_key(); }
  std::set<log::PublicKey> contacts;
  std::map<std::string, pb::AttachmentInfo> known;              // attachments we know of
  std::map<std::string, std::map<uint64_t, std::string>> held;  // id -> index -> sealed
  size_t puts = 0;

  void Know(uint64_t chunk_count) {
    pb::AttachmentInfo info;
    info.set_attachment_id(kAttachment);
    info.set_chunk_count(chunk_count);
    known[kAttachment] = info;
  }
  void Hold(uint64_t index) { held[kAttachment][index] = SealedBytes(index); }

  crypto::SecretBytes IdentitySecretKey() const override {
    crypto::SecretBytes key(64);
    std::copy(identity_.seed().span().begin(), identity_.seed().span().end(), key.data());
    std::copy(key_begin(), key_begin() + 32, key.data() + 32);
    return key;
  }
  bool IsContact(const log::PublicKey& peer) override { return contacts.count(peer) > 0; }
  Result<std::vector<std::string>> SharedCircles(const log::PublicKey&) override {
    return std::vector<std::string>{kCircle};
  }
  bool KnowsCircle(const std::string& c) override { return c == kCircle; }
  Result<log::VersionVector> Versions(const std::string&) override { return log::VersionVector{}; }
  Result<std::vector<pb::Envelope>> OpsAfter(const std::string&, const log::VersionVector&,
                                             size_t) override {
    return std::vector<pb::Envelope>{};
  }
  Result<sync::ReceiveOutcome> ReceiveOps(const std::string&,
                                          const std::vector<pb::Envelope>&) override {
    return sync::ReceiveOutcome{};
  }
  Result<std::vector<pb::AttachmentInfo>> CircleAttachments(const std::string&) override {
    std::vector<pb::AttachmentInfo> out;
    for (const auto& [id, info] : known) out.push_back(info);
    return out;
  }
  Result<std::vector<uint64_t>> MissingChunks(const std::string& id) override {
    auto it = known.find(id);
    if (it == known.end()) return NotFound("unknown attachment");
    std::vector<uint64_t> missing;
    for (uint64_t i = 0; i < it->second.chunk_count(); ++i) {
      if (held[id].count(i) == 0) missing.push_back(i);
    }
    return missing;
  }
  Status ExpectAttachment(const pb::AttachmentInfo& info) override {
    known.emplace(info.attachment_id(), info);
    return Status::Ok();
  }
  Status PutChunk(const std::string& id, uint64_t index, const std::string& sealed) override {
    if (sealed != SealedBytes(index))
      return Corrupt("chunk " + std::to_string(index) + " is tampered");
    held[id][index] = sealed;
    ++puts;
    return Status::Ok();
  }
  Result<std::string> GetSealedChunk(const std::string& id, uint64_t index) override {
    auto it = held[id].find(index);
    if (it == held[id].end()) return NotFound("no such chunk");
    return it->second;
  }

 private:
  const uint8_t* key_begin() const { return identity_.public_key().data(); }
  log::Identity identity_;
};

class ReplicationAttachments : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.contacts.insert(b_.key());
    b_.contacts.insert(a_.key());
  }
  struct Outcome {
    bool a_ok, b_ok;
    std::string a_reason, b_reason;
    sync::ReplicationStats a, b;
    SimLinkResult link;
  };
  Outcome Sync(const SimLinkOptions& link = {}, sync::ReplicationLimits limits = {}) {
    sync::ReplicationConfig ca, cb;
    ca.initiator = true;
    ca.expected_peer = b_.key();
    ca.network_key = SimNetworkKey();
    ca.limits = limits;
    cb.network_key = SimNetworkKey();
    cb.limits = limits;
    auto sa = sync::ReplicationSession::Create(a_, std::move(ca));
    auto sb = sync::ReplicationSession::Create(b_, std::move(cb));
    EXPECT_TRUE(sa.ok() && sb.ok());
    Outcome o;
    o.link = RunLink(**sa, **sb, link);
    o.a_ok = (*sa)->succeeded();
    o.b_ok = (*sb)->succeeded();
    o.a_reason = (*sa)->close_reason();
    o.b_reason = (*sb)->close_reason();
    o.a = (*sa)->stats();
    o.b = (*sb)->stats();
    return o;
  }
  MemoryReplica a_, b_;
};

TEST_F(ReplicationAttachments, ChunksFlowToThePeerThatLacksThem) {
  a_.Know(300);
  for (uint64_t i = 0; i < 300; ++i) a_.Hold(i);
  b_.Know(300);
  Outcome o = Sync();
  ASSERT_TRUE(o.a_ok && o.b_ok) << o.a_reason << " / " << o.b_reason;
  EXPECT_EQ(o.b.chunks_wanted, 300u);
  EXPECT_EQ(o.b.chunks_received, 300u);
  EXPECT_EQ(o.a.chunks_sent, 300u);
  EXPECT_EQ(b_.held[kAttachment], a_.held[kAttachment]);
}

TEST_F(ReplicationAttachments, OnlyAttachmentsAPeerKnowsOfAreAskedFor) {
  a_.Know(5);
  for (uint64_t i = 0; i < 5; ++i) a_.Hold(i);
  Outcome first = Sync();  // b has not received the op announcing it yet
  ASSERT_TRUE(first.a_ok && first.b_ok) << first.a_reason;
  EXPECT_EQ(first.b.chunks_wanted, 0u);
  b_.Know(5);
  Outcome second = Sync();
  ASSERT_TRUE(second.a_ok && second.b_ok) << second.a_reason;
  EXPECT_EQ(second.b.chunks_received, 5u);
}

TEST_F(ReplicationAttachments, ACutTransferResumesAskingOnlyForTheMissingChunks) {
  a_.Know(200);
  for (uint64_t i = 0; i < 200; ++i) a_.Hold(i);
  b_.Know(200);
  SimLinkOptions cut;
  cut.cut_after_bytes = 60 * 1024;
  Outcome broken = Sync(cut);
  EXPECT_FALSE(broken.b_ok);
  const size_t got = b_.held[kAttachment].size();
  ASSERT_GT(got, 0u);
  ASSERT_LT(got, 200u);

  Outcome resumed = Sync();
  ASSERT_TRUE(resumed.a_ok && resumed.b_ok) << resumed.a_reason;
  EXPECT_EQ(resumed.b.chunks_wanted, 200u - got);
  EXPECT_EQ(resumed.b.chunks_received, 200u - got);
  EXPECT_EQ(resumed.a.chunks_sent, 200u - got);  // nothing sent twice
  EXPECT_EQ(b_.puts, 200u);
  EXPECT_EQ(b_.held[kAttachment], a_.held[kAttachment]);
}

TEST_F(ReplicationAttachments, TwoPartialCopiesCompleteEachOtherInOneSession) {
  a_.Know(40);
  b_.Know(40);
  for (uint64_t i = 0; i < 40; ++i) (i % 2 == 0 ? a_ : b_).Hold(i);
  Outcome o = Sync();
  ASSERT_TRUE(o.a_ok && o.b_ok) << o.a_reason;
  EXPECT_EQ(a_.held[kAttachment].size(), 40u);
  EXPECT_EQ(b_.held[kAttachment].size(), 40u);
  EXPECT_EQ(o.a.chunks_received, 20u);
  EXPECT_EQ(o.b.chunks_received, 20u);
}

TEST_F(ReplicationAttachments, ChunksNobodyHoldsAreReportedUnavailableAndTheSessionSucceeds) {
  a_.Know(10);
  for (uint64_t i = 0; i < 6; ++i) a_.Hold(i);
  b_.Know(10);
  Outcome o = Sync();
  ASSERT_TRUE(o.a_ok && o.b_ok) << o.a_reason;
  EXPECT_EQ(o.b.chunks_received, 6u);
  EXPECT_EQ(o.b.chunks_unavailable, 4u);
}

TEST_F(ReplicationAttachments, ATamperedChunkClosesTheSessionAndIsNotStored) {
  a_.Know(20);
  for (uint64_t i = 0; i < 20; ++i) a_.Hold(i);
  a_.held[kAttachment][7] = "tampered";
  b_.Know(20);
  sync::ReplicationLimits one_at_a_time;
  one_at_a_time.chunks_in_flight = 1;
  Outcome o = Sync({}, one_at_a_time);
  EXPECT_FALSE(o.b_ok);
  EXPECT_NE(o.b_reason.find("peer sent a chunk we rejected"), std::string::npos) << o.b_reason;
  EXPECT_EQ(b_.held[kAttachment].count(7), 0u);
  EXPECT_EQ(b_.held[kAttachment].size(), 7u);  // 0..6, asked one at a time
}

TEST_F(ReplicationAttachments, TheWantWindowBoundsChunksInFlight) {
  a_.Know(64);
  for (uint64_t i = 0; i < 64; ++i) a_.Hold(i);
  b_.Know(64);
  sync::ReplicationLimits limits;
  limits.chunks_in_flight = 8;
  limits.max_wanted_chunks = 8;  // A would close if B ever had more than 8 outstanding
  Outcome o = Sync({}, limits);
  ASSERT_TRUE(o.a_ok && o.b_ok) << o.a_reason << " / " << o.b_reason;
  EXPECT_EQ(o.b.chunks_received, 64u);
}

}  // namespace
}  // namespace estelik::testing
