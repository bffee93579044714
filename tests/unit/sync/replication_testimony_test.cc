// End to end with the Archive's own sharing: a testimony shared into a circle by one activist
// appears in the other's vault after sync, with its attachment byte for byte, and an
// interrupted attachment transfer resumes where it stopped.
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "tests/unit/sync/sim_link.h"

namespace estelik::testing {
namespace {

std::string WriteFile(const TempDir& dir, const std::string& name, size_t size, uint8_t seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  std::ofstream(dir.File(name), std::ios::binary) << bytes;
  return dir.File(name);
}

class ReplicationTestimony : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = MakeSimPeer("aigerim");
    b_ = MakeSimPeer("bakyt");
    ASSERT_TRUE(a_ && b_);
    ASSERT_TRUE(a_->archive->AddContact(b_->key(), "bakyt").ok());
    ASSERT_TRUE(b_->archive->AddContact(a_->key(), "aigerim").ok());
    auto circle = a_->archive->CreateCircle("families of the detained");
    ASSERT_TRUE(circle.ok()) << circle.status().ToString();
    circle_ = *circle;
    ASSERT_TRUE(a_->archive->AddCircleMember(circle_, b_->key()).ok());
  }

  // A testimony with one attachment of `size` bytes, shared into the circle.
  std::string ShareTestimony(const std::string& title, size_t size) {
    pb::TestimonyFields fields;
    fields.set_title(title);
    fields.set_body("He was taken from the square on the 16th.");
    auto t = a_->archive->AddTestimony(fields);
    EXPECT_TRUE(t.ok());
    if (size > 0) {
      original_ = WriteFile(files_, "interview.m4a", size, 7);
      auto attached = a_->archive->AttachFile(t->id(), original_, {"interview.m4a", "", {}}, {});
      EXPECT_TRUE(attached.ok()) << attached.status().ToString();
    }
    Status shared = a_->archive->Share(t->id(), circle_);
    EXPECT_TRUE(shared.ok()) << shared.ToString();
    return t->id();
  }

  std::string ExportFromB(const std::string& id) {
    std::string out = files_.File("exported-" + std::to_string(++exports_));
    auto exported = b_->archive->ExportAttachment(id, 0, out, {});
    if (!exported.ok()) return "export failed: " + exported.status().ToString();
    return ReadFileBytes(out);
  }

  TempDir files_;
  std::unique_ptr<SimPeer> a_, b_;
  std::string circle_;
  std::string original_;
  int exports_ = 0;
};

TEST_F(ReplicationTestimony, ASharedTestimonyAndItsAttachmentArriveByteForByte) {
  std::string id = ShareTestimony("In the square", 5 * 65536 + 1234);
  SyncOutcome s = SyncPeers(*b_, *a_);
  ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason << " / " << s.b_reason;
  EXPECT_EQ(s.a.chunks_received, 6u);
  EXPECT_EQ(s.b.chunks_sent, 6u);

  auto got = b_->archive->GetTestimony(id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->fields().title(), "In the square");
  ASSERT_EQ(got->attachments_size(), 1);
  EXPECT_EQ(ExportFromB(id), ReadFileBytes(original_));
  // Same circle history on both sides. (Whole-store StateHash is not compared here: the
  // author's store also holds the testimony's private version from before it was shared.)
  EXPECT_EQ(TakeSnapshot(*a_, {circle_}).versions, TakeSnapshot(*b_, {circle_}).versions);

  // Syncing again moves no ops and no chunks.
  SyncOutcome again = SyncPeers(*a_, *b_);
  ASSERT_TRUE(again.a_ok && again.b_ok) << again.a_reason;
  EXPECT_EQ(again.a.ops_sent + again.b.ops_sent, 0u);
  EXPECT_EQ(again.a.chunks_wanted + again.b.chunks_wanted, 0u);
}

TEST_F(ReplicationTestimony, ACutAttachmentTransferResumesWithoutResendingChunks) {
  std::string id = ShareTestimony("Long interview", 40 * 65536);
  sync::ReplicationLimits window;
  window.chunks_in_flight = 4;
  SimLinkOptions cut;
  cut.cut_after_bytes = 20 * 65536;  // dies with about half the chunks across
  SyncOutcome broken = SyncPeers(*a_, *b_, cut, window);
  EXPECT_FALSE(broken.b_ok);
  const uint64_t got = broken.b.chunks_received;
  ASSERT_GT(got, 0u);
  ASSERT_LT(got, 40u);
  EXPECT_FALSE(b_->archive->ExportAttachment(id, 0, files_.File("partial"), {}).ok());

  SyncOutcome resumed = SyncPeers(*a_, *b_, {}, window);
  ASSERT_TRUE(resumed.a_ok && resumed.b_ok) << resumed.a_reason << " / " << resumed.b_reason;
  EXPECT_EQ(resumed.b.chunks_wanted, 40u - got);
  EXPECT_EQ(resumed.a.chunks_sent, 40u - got);
  EXPECT_EQ(ExportFromB(id), ReadFileBytes(original_));
}

TEST_F(ReplicationTestimony, ChunksAreStoredInRunsKeepingThoseBeforeARejectedOne) {
  std::string id = ShareTestimony("Run of chunks", 6 * 65536);
  // B gets the ops (and so learns of the attachment), not the chunks.
  auto ops = a_->archive->OpsAfter(circle_, {}, 1000);
  ASSERT_TRUE(ops.ok());
  ASSERT_TRUE(b_->archive->ReceiveOps(circle_, *ops).ok());
  auto t = a_->archive->GetTestimony(id);
  ASSERT_TRUE(t.ok() && t->attachments_size() == 1);
  const std::string attachment = t->attachments(0).attachment_id();
  std::vector<sync::ReceivedChunk> chunks;
  for (uint64_t i = 0; i < 6; ++i) {
    auto sealed = a_->archive->GetSealedChunk(attachment, i);
    ASSERT_TRUE(sealed.ok());
    chunks.push_back({i, *sealed});
  }
  std::vector<sync::ReceivedChunk> run(chunks.begin(), chunks.begin() + 4);
  run[2].sealed[30] = static_cast<char>(run[2].sealed[30] ^ 0x01);
  Status put = b_->replica->PutChunks(attachment, run);
  EXPECT_EQ(put.code(), Code::kCorrupt) << put.ToString();
  auto missing = b_->archive->MissingChunks(attachment);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, (std::vector<uint64_t>{2, 3, 4, 5}));  // 0 and 1 kept, 2 and 3 not

  ASSERT_TRUE(b_->replica->PutChunks(attachment, {chunks.begin() + 2, chunks.end()}).ok());
  EXPECT_EQ(ExportFromB(id), ReadFileBytes(original_));
}

TEST_F(ReplicationTestimony, AnEditAfterSharingReachesThePeerAsANewVersion) {
  std::string id = ShareTestimony("First account", 0);
  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  pb::TestimonyFields fields;
  fields.set_title("First account (corrected)");
  fields.set_body("He was taken on the 17th, not the 16th.");
  ASSERT_TRUE(a_->archive->EditTestimony(id, fields).ok());
  SyncOutcome s = SyncPeers(*a_, *b_);
  ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason;
  EXPECT_EQ(s.a.ops_sent, 1u);
  auto got = b_->archive->GetTestimony(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->fields().title(), "First account (corrected)");
  auto history = b_->archive->History(id);
  ASSERT_TRUE(history.ok());
  EXPECT_GE(history->versions_size(), 2);
}

// Counts the steps `progress` reports, checking that each call is exactly one step after the one
// before: an OpBatch sent or received, a chunk sent, a chunk stored.
struct ProgressSteps {
  uint64_t batches_sent = 0, batches_received = 0, chunks_sent = 0, chunks_stored = 0;
};
ProgressSteps CountSteps(const std::vector<sync::ReplicationStats>& progress) {
  ProgressSteps steps;
  sync::ReplicationStats prev;
  for (const sync::ReplicationStats& s : progress) {
    const uint64_t grew[] = {
        s.batches_sent - prev.batches_sent, s.batches_received - prev.batches_received,
        s.chunks_sent - prev.chunks_sent, s.chunks_received - prev.chunks_received};
    EXPECT_EQ(grew[0] + grew[1] + grew[2] + grew[3], 1u) << "one step per progress call";
    steps.batches_sent += grew[0];
    steps.batches_received += grew[1];
    steps.chunks_sent += grew[2];
    steps.chunks_stored += grew[3];
    prev = s;
  }
  return steps;
}

// Issue #15 item 6: both sides hear of every step, the sender too; and B, who joins the circle
// in this session, counts it as A does.
TEST_F(ReplicationTestimony, ProgressIsReportedOncePerStepOnBothSidesAndCirclesAgree) {
  ShareTestimony("Every step counts", 70 * 65536);  // 70 chunks: more than two stored runs
  std::vector<sync::ReplicationStats> a_progress, b_progress;
  SyncOutcome s =
      SyncPeers(*a_, *b_, {}, {}, [&](sync::ReplicationConfig& ca, sync::ReplicationConfig& cb) {
        ca.on_progress = [&](const sync::ReplicationStats& stats) { a_progress.push_back(stats); };
        cb.on_progress = [&](const sync::ReplicationStats& stats) { b_progress.push_back(stats); };
      });
  ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason << " / " << s.b_reason;
  const ProgressSteps a = CountSteps(a_progress), b = CountSteps(b_progress);
  EXPECT_EQ(s.a.chunks_sent, 70u);
  EXPECT_EQ(a.chunks_sent, 70u);
  EXPECT_EQ(a.batches_sent, s.a.batches_sent);
  EXPECT_GT(a.batches_sent, 0u);
  EXPECT_EQ(a.batches_received, s.a.batches_received);
  EXPECT_EQ(b.chunks_stored, 70u);
  EXPECT_EQ(b.batches_received, s.b.batches_received);
  EXPECT_EQ(b.batches_sent, s.b.batches_sent);
  EXPECT_EQ(s.a.circles, 1u);
  EXPECT_EQ(s.b.circles, 1u);
}

}  // namespace
}  // namespace estelik::testing
