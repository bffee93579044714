#include "core/store/attachment.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <numeric>
#include <random>

#include "core/bytes.h"
#include "core/sql/stmt.h"
#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::TempDir;

std::string AttId(uint8_t n) { return std::string(15, '\x22') + static_cast<char>(n); }

std::vector<uint8_t> Pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>((i * 31 + seed) ^ (i >> 9));
  return v;
}

pb::AttachmentInfo Meta(uint8_t n, uint8_t testimony = 1) {
  pb::AttachmentInfo m;
  m.set_attachment_id(AttId(n));
  m.set_testimony_id(Id(testimony));
  m.set_name(std::string("recording-").append(std::to_string(n)).append(".m4a"));
  m.set_media_type("audio/mp4");
  m.set_kind(pb::ATTACHMENT_KIND_AUDIO);
  m.set_author(Author(1));
  *m.mutable_added() = Hlc(2000 + n);
  return m;
}

class AttachmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("t", "b")), Key(1)).ok());
  }
  void Reopen() {
    store_.reset();
    db_.reset();
    db_ = OpenTestDb(dir_.File("store.db"));
    auto s = Store::Open(db_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<pb::AttachmentInfo> Add(uint8_t n, const std::vector<uint8_t>& data, size_t piece = 1000) {
    ESTELIK_ASSIGN_OR_RETURN(auto w, store_->BeginAttachment(Meta(n)));
    for (size_t off = 0; off < data.size(); off += piece) {
      size_t len = std::min(piece, data.size() - off);
      ESTELIK_RETURN_IF_ERROR(w->Append(std::span(data).subspan(off, len)));
    }
    return w->Finish();
  }
  std::vector<uint8_t> ReadAll(AttachmentReader& r, Status* status) {
    std::vector<uint8_t> out, buf(7777);
    while (true) {
      auto n = r.Read(buf);
      if (!n.ok()) {
        *status = n.status();
        return out;
      }
      if (*n == 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + *n);
    }
    *status = Status::Ok();
    return out;
  }
  int64_t CountChunks() {
    auto s = sql::Stmt::Prepare(db_.get(), "SELECT count(*) FROM chunks");
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(*s->Step());
    return s->Int(0);
  }
  void Exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_.get());
  }
  TempDir dir_;
  DbHandle db_;
  std::unique_ptr<Store> store_;
};

TEST_F(AttachmentTest, WrittenAttachmentReadsBackIdenticallyAndVerifies) {
  auto data = Pattern(3 * kChunkSize + 123, 7);
  auto info = Add(1, data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size(), data.size());
  EXPECT_EQ(info->chunk_size(), kChunkSize);
  EXPECT_EQ(info->chunk_count(), 4u);
  std::array<uint8_t, 32> hash;
  crypto_generichash(hash.data(), 32, data.data(), data.size(), nullptr, 0);
  EXPECT_EQ(info->content_hash(), std::string(hash.begin(), hash.end()));

  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Status st;
  EXPECT_EQ(ReadAll(**r, &st), data);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE((*r)->Verify().ok());
  auto chunk3 = (*r)->ReadChunk(3);
  ASSERT_TRUE(chunk3.ok());
  EXPECT_EQ(chunk3->size(), 123u);

  auto t = store_->Get(Id(1));
  ASSERT_EQ(t->attachments_size(), 1);
  EXPECT_EQ(t->attachments(0).name(), "recording-1.m4a");
  EXPECT_EQ(t->attachments(0).content_hash(), info->content_hash());
}

TEST_F(AttachmentTest, EmptyAndExactlyOneChunkAttachmentsWork) {
  auto empty = Add(1, {});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->chunk_count(), 0u);
  auto one = Add(2, Pattern(kChunkSize, 1));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->chunk_count(), 1u);
  for (uint8_t n : {1, 2}) {
    auto r = store_->OpenAttachment(AttId(n));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE((*r)->Verify().ok());
  }
}

TEST_F(AttachmentTest, UnfinishedAttachmentIsInvisibleAndAbandoningItLeavesNothing) {
  {
    auto w = store_->BeginAttachment(Meta(1));
    ASSERT_TRUE(w.ok());
    auto data = Pattern(40 * kChunkSize, 3);  // more than one commit batch
    ASSERT_TRUE((*w)->Append(data).ok());
    EXPECT_GT(CountChunks(), 0);
    EXPECT_EQ(store_->OpenAttachment(AttId(1)).status().code(), Code::kNotFound);
    EXPECT_EQ(store_->Get(Id(1))->attachments_size(), 0);
  }
  EXPECT_EQ(CountChunks(), 0);
}

TEST_F(AttachmentTest, TamperedChunkIsReportedByIndex) {
  ASSERT_TRUE(Add(1, Pattern(20 * kChunkSize, 9)).ok());
  // Byte 101 always changes (a constant would equal it once in 256 runs: random nonces).
  Exec(
      "UPDATE chunks SET sealed = substr(sealed, 1, 100) || CASE WHEN substr(sealed, 101, 1) = "
      "x'00' THEN x'01' ELSE x'00' END || substr(sealed, 102) WHERE idx = 17");
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  auto c = (*r)->ReadChunk(17);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
  EXPECT_EQ(c.status().message(),
            "attachment 22222222222222222222222222222201 chunk 17 is corrupt or tampered");
  EXPECT_TRUE((*r)->ReadChunk(16).ok());
  EXPECT_EQ((*r)->Verify().code(), Code::kCorrupt);
  Status st;
  ReadAll(**r, &st);
  EXPECT_EQ(st.code(), Code::kCorrupt);
}

// ReadAt(offset, out) as a media player would call it: the bytes must be plaintext[offset, ...).
std::vector<uint8_t> Slice(const std::vector<uint8_t>& data, uint64_t offset, size_t len) {
  if (offset >= data.size()) return {};
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, data.size() - offset));
  return std::vector<uint8_t>(data.begin() + static_cast<ptrdiff_t>(offset),
                              data.begin() + static_cast<ptrdiff_t>(offset + n));
}

TEST_F(AttachmentTest, ReadAtRandomRangesMatchThePlaintext) {
  auto data = Pattern(5 * kChunkSize + 4321, 11);
  ASSERT_TRUE(Add(1, data).ok());
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  std::mt19937_64 rng(20240315);
  std::vector<uint8_t> buf;
  for (int i = 0; i < 300; ++i) {
    uint64_t offset = rng() % (data.size() + 100);  // some start past the end
    size_t len = static_cast<size_t>(rng() % (i % 3 == 0 ? 3 * kChunkSize : 5000)) + 1;
    buf.assign(len, 0xee);
    auto n = (*r)->ReadAt(offset, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    buf.resize(*n);
    ASSERT_EQ(buf, Slice(data, offset, len)) << "offset " << offset << " len " << len;
  }
}

TEST_F(AttachmentTest, ReadAtSpansChunkBoundariesAndStopsAtTheEnd) {
  auto data = Pattern(3 * kChunkSize + 10, 5);
  ASSERT_TRUE(Add(1, data).ok());
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf(2 * kChunkSize + 2);
  // Last byte of chunk 0 through the first byte of chunk 3: four chunks touched.
  auto n = (*r)->ReadAt(kChunkSize - 1, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, buf.size());
  EXPECT_EQ(buf, Slice(data, kChunkSize - 1, buf.size()));
  // A range running past the end returns what there is; at and past the end, 0.
  n = (*r)->ReadAt(data.size() - 4, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 4, data.end() - 4));
  EXPECT_EQ(*(*r)->ReadAt(data.size(), buf), 0u);
  EXPECT_EQ(*(*r)->ReadAt(data.size() + 1, buf), 0u);
  EXPECT_EQ(*(*r)->ReadAt(~uint64_t{0}, buf), 0u);
  EXPECT_EQ(*(*r)->ReadAt(0, std::span<uint8_t>()), 0u);
  // Exactly one whole chunk, and the short last chunk on its own.
  std::vector<uint8_t> one(kChunkSize);
  ASSERT_EQ(*(*r)->ReadAt(2 * kChunkSize, one), kChunkSize);
  EXPECT_EQ(one, Slice(data, 2 * kChunkSize, kChunkSize));
  ASSERT_EQ(*(*r)->ReadAt(3 * kChunkSize, one), 10u);

  // An empty attachment has nothing to read anywhere.
  ASSERT_TRUE(Add(2, {}).ok());
  auto e = store_->OpenAttachment(AttId(2));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*(*e)->ReadAt(0, buf), 0u);
}

TEST_F(AttachmentTest, ReadAtLeavesTheSequentialPositionAndHashCheckAlone) {
  auto data = Pattern(4 * kChunkSize + 77, 3);
  ASSERT_TRUE(Add(1, data).ok());
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> head(1000), at(3000);
  ASSERT_EQ(*(*r)->Read(head), head.size());
  ASSERT_EQ(*(*r)->ReadAt(3 * kChunkSize + 5, at), at.size());
  EXPECT_EQ(at, Slice(data, 3 * kChunkSize + 5, at.size()));
  Status st;
  auto rest = ReadAll(**r, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  head.insert(head.end(), rest.begin(), rest.end());
  EXPECT_EQ(head, data);

  // ReadAt never checks the content hash: with a wrong recorded hash every range still reads,
  // and only Verify (or Read to the end) reports it.
  Exec("UPDATE attachments SET content_hash = zeroblob(32)");
  auto lying = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(lying.ok());
  std::vector<uint8_t> all(data.size());
  ASSERT_EQ(*(*lying)->ReadAt(0, all), data.size());
  EXPECT_EQ(all, data);
  EXPECT_EQ((*lying)->Verify().code(), Code::kCorrupt);
  ReadAll(**lying, &st);
  EXPECT_EQ(st.code(), Code::kCorrupt);
}

TEST_F(AttachmentTest, ReadAtFailsOnlyOnRangesTouchingATamperedOrMissingChunk) {
  auto data = Pattern(6 * kChunkSize, 9);
  ASSERT_TRUE(Add(1, data).ok());
  Exec(
      "UPDATE chunks SET sealed = substr(sealed, 1, 100) || CASE WHEN substr(sealed, 101, 1) = "
      "x'00' THEN x'01' ELSE x'00' END || substr(sealed, 102) WHERE idx = 2");
  Exec("DELETE FROM chunks WHERE idx = 4");
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf(100);
  auto bad = (*r)->ReadAt(2 * kChunkSize + 50, buf);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt);
  EXPECT_EQ(bad.status().message(),
            "attachment 22222222222222222222222222222201 chunk 2 is corrupt or tampered");
  // A range that only starts in a good chunk still fails on reaching the bad one.
  EXPECT_EQ((*r)->ReadAt(2 * kChunkSize - 10, buf).status().code(), Code::kCorrupt);
  auto missing = (*r)->ReadAt(4 * kChunkSize + 1, buf);
  EXPECT_EQ(missing.status().code(), Code::kCorrupt);
  EXPECT_NE(missing.status().message().find("missing chunk 4"), std::string::npos)
      << missing.status().message();
  // Everything else still reads, before and after the damage, including ranges ending or
  // starting exactly at a damaged chunk's edge.
  for (uint64_t offset : {uint64_t{0}, kChunkSize + 7, 2 * kChunkSize - 100, 3 * kChunkSize,
                          5 * kChunkSize, 6 * kChunkSize - 100}) {
    auto n = (*r)->ReadAt(offset, buf);
    ASSERT_TRUE(n.ok()) << offset << ": " << n.status().ToString();
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + *n), Slice(data, offset, 100));
  }
}

TEST_F(AttachmentTest, ReadAtRejectsARecordedLayoutThatDoesNotAddUp) {
  ASSERT_TRUE(Add(1, Pattern(3 * kChunkSize, 2)).ok());
  Exec("UPDATE attachments SET chunk_count = 2");
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf(10);
  auto n = (*r)->ReadAt(0, buf);
  EXPECT_EQ(n.status().code(), Code::kCorrupt);
  EXPECT_NE(n.status().message().find("196608 bytes in 2 chunks of 65536"), std::string::npos)
      << n.status().message();
}

TEST_F(AttachmentTest, ChunksSwappedBetweenPositionsAreDetected) {
  ASSERT_TRUE(Add(1, Pattern(3 * kChunkSize, 9)).ok());
  Exec(
      "UPDATE chunks SET idx = 99 WHERE idx = 0; UPDATE chunks SET idx = 0 WHERE idx = 1; "
      "UPDATE chunks SET idx = 1 WHERE idx = 99");
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  auto c = (*r)->ReadChunk(0);
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
}

TEST_F(AttachmentTest, MissingChunkOrWrongCountOrHashIsReported) {
  ASSERT_TRUE(Add(1, Pattern(3 * kChunkSize, 9)).ok());
  {
    Exec("UPDATE attachments SET content_hash = zeroblob(32)");
    auto r = store_->OpenAttachment(AttId(1));
    Status v = (*r)->Verify();
    EXPECT_EQ(v.code(), Code::kCorrupt);
    EXPECT_NE(v.message().find("does not match its content hash"), std::string::npos)
        << v.message();
  }
  Exec("DELETE FROM chunks WHERE idx = 2");
  auto r = store_->OpenAttachment(AttId(1));
  Status v = (*r)->Verify();
  EXPECT_EQ(v.code(), Code::kCorrupt);
  EXPECT_NE(v.message().find("2 chunks stored but 3 recorded"), std::string::npos) << v.message();
  auto c = (*r)->ReadChunk(2);
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
  EXPECT_NE(c.status().message().find("missing chunk 2"), std::string::npos);
}

TEST_F(AttachmentTest, ChunkSealingMatchesThePinnedVector) {
  crypto::SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.data()[i] = static_cast<uint8_t>(i);
  std::array<uint8_t, kChunkNonceSize> nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0x40 + i);
  const std::string id(16, '\x22');
  const std::string text = "Testimony chunk";
  std::string sealed =
      SealChunk(key, id, 17, estelik::AsBytes(text), std::span<const uint8_t, 24>(nonce));
  EXPECT_EQ(estelik::Hex(sealed),
            "404142434445464748494a4b4c4d4e4f5051525354555657805c7604b98d1678f6d4e4d6daf20ef78b371f"
            "17b1c908f7a979e445f8de97");
  auto opened = OpenChunk(key, id, 17, estelik::AsBytes(sealed));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(std::string(opened->begin(), opened->end()), text);
  EXPECT_EQ(OpenChunk(key, id, 18, estelik::AsBytes(sealed)).status().code(), Code::kCorrupt);
}

TEST_F(AttachmentTest, AttachmentsOnlyGoToALiveTestimonyOfTheSameAuthor) {
  auto m = Meta(1, 9);
  EXPECT_EQ(store_->BeginAttachment(m).status().code(), Code::kNotFound);
  m = Meta(1);
  m.set_author(Author(5));
  EXPECT_EQ(store_->BeginAttachment(m).status().code(), Code::kPermissionDenied);
  m = Meta(1);
  m.set_name("");
  EXPECT_EQ(store_->BeginAttachment(m).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(Add(1, Pattern(10, 1)).ok());
  EXPECT_EQ(store_->BeginAttachment(Meta(1)).status().code(), Code::kAlreadyExists);
}

TEST_F(AttachmentTest, WithdrawalDestroysAttachmentChunks) {
  ASSERT_TRUE(Add(1, Pattern(3 * kChunkSize, 9)).ok());
  auto w = store_->BeginAttachment(Meta(2));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Pattern(100, 1)).ok());
  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(9000)).ok());
  EXPECT_EQ(CountChunks(), 0);
  EXPECT_EQ(store_->OpenAttachment(AttId(1)).status().code(), Code::kNotFound);
  // A write in flight cannot resurrect content into the tombstone.
  EXPECT_EQ((*w)->Finish().status().code(), Code::kNotFound);
  EXPECT_EQ(CountChunks(), 0);
}

TEST_F(AttachmentTest, ReceivedChunksResumeAcrossRestartsInAnyOrder) {
  // Sender: a complete attachment in this store.
  auto data = Pattern(5 * kChunkSize + 10, 4);
  auto info = Add(1, data);
  ASSERT_TRUE(info.ok());
  std::vector<std::string> sealed;
  for (uint64_t i = 0; i < info->chunk_count(); ++i)
    sealed.push_back(*store_->GetSealedChunk(AttId(1), i));

  // Receiver: another store with the same testimony (same content key).
  TempDir rdir;
  DbHandle rdb = OpenTestDb(rdir.File("store.db"));
  auto receiver = Store::Open(rdb.get());
  ASSERT_TRUE(receiver.ok());
  ASSERT_TRUE((*receiver)->CreateTestimony(Testimony(1, Fields("t", "b")), Key(1)).ok());
  ASSERT_TRUE((*receiver)->ExpectAttachment(*info).ok());
  ASSERT_TRUE((*receiver)->ExpectAttachment(*info).ok());  // idempotent
  EXPECT_EQ(*(*receiver)->MissingChunks(AttId(1)), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  ASSERT_TRUE((*receiver)->PutChunk(AttId(1), 4, sealed[4]).ok());
  ASSERT_TRUE((*receiver)->PutChunk(AttId(1), 1, sealed[1]).ok());
  ASSERT_TRUE((*receiver)->PutChunk(AttId(1), 1, sealed[1]).ok());  // duplicate
  // A bad chunk (wrong index, tampered) is refused and changes nothing.
  EXPECT_EQ((*receiver)->PutChunk(AttId(1), 2, sealed[3]).code(), Code::kCorrupt);
  EXPECT_EQ((*receiver)->PutChunk(AttId(1), 9, sealed[3]).code(), Code::kInvalidArgument);
  EXPECT_EQ((*receiver)->OpenAttachment(AttId(1)).status().code(), Code::kNotFound);

  // Restart: the partial transfer survives Open (unlike an interrupted local write).
  receiver->reset();
  rdb.reset();
  rdb = OpenTestDb(rdir.File("store.db"));
  receiver = Store::Open(rdb.get());
  ASSERT_TRUE(receiver.ok());
  EXPECT_EQ(*(*receiver)->MissingChunks(AttId(1)), (std::vector<uint64_t>{0, 2, 3, 5}));
  for (uint64_t i : {5, 0, 3, 2}) ASSERT_TRUE((*receiver)->PutChunk(AttId(1), i, sealed[i]).ok());
  EXPECT_TRUE((*receiver)->MissingChunks(AttId(1))->empty());
  auto r = (*receiver)->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Status st;
  std::vector<uint8_t> out, buf(65536);
  while (true) {
    auto n = (*r)->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + *n);
  }
  EXPECT_EQ(out, data);
  EXPECT_EQ(*store_->StateHash(), *(*receiver)->StateHash());
}

TEST_F(AttachmentTest, ReceivedAttachmentWithWrongContentHashNeverBecomesVisible) {
  auto info = Add(1, Pattern(2 * kChunkSize, 4));
  ASSERT_TRUE(info.ok());
  std::string c0 = *store_->GetSealedChunk(AttId(1), 0), c1 = *store_->GetSealedChunk(AttId(1), 1);
  ASSERT_TRUE(store_->CreateTestimony(Testimony(2, Fields("t", "b")), Key(1)).ok());
  // Same chunks announced under a lying hash, in another store.
  TempDir rdir;
  DbHandle rdb = OpenTestDb(rdir.File("store.db"));
  auto receiver = Store::Open(rdb.get());
  ASSERT_TRUE((*receiver)->CreateTestimony(Testimony(1, Fields("t", "b")), Key(1)).ok());
  pb::AttachmentInfo lying = *info;
  lying.set_content_hash(std::string(32, '\x01'));
  ASSERT_TRUE((*receiver)->ExpectAttachment(lying).ok());
  ASSERT_TRUE((*receiver)->PutChunk(AttId(1), 0, c0).ok());
  Status last = (*receiver)->PutChunk(AttId(1), 1, c1);
  EXPECT_EQ(last.code(), Code::kCorrupt);
  EXPECT_EQ((*receiver)->OpenAttachment(AttId(1)).status().code(), Code::kNotFound);
  EXPECT_EQ((*receiver)->MissingChunks(AttId(1))->size(), 2u);
}

// The child (tests/tools/store_attachment_writer) adds one small attachment, then streams a
// large one forever; it is killed with SIGKILL mid-write.
TEST_F(AttachmentTest, KilledWriterLeavesNoHalfAttachmentAndTheTestimonyIntact) {
  store_.reset();
  db_.reset();
  std::string tool = std::string(ESTELIK_BINARY_DIR) + "/tests/tools/store_attachment_writer";
  std::string path = dir_.File("killed.db");
  int fds[2], key_fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(pipe(key_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(key_fds[0], STDIN_FILENO);
    close(fds[0]);
    close(key_fds[1]);
    execl(tool.c_str(), tool.c_str(), path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  close(key_fds[0]);
  // The child opens the encrypted store with the test page key, handed over on its stdin.
  std::string hex(2 * TestPageKey().size() + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), TestPageKey().data(), TestPageKey().size());
  hex.back() = '\n';
  ASSERT_EQ(write(key_fds[1], hex.data(), hex.size()), static_cast<ssize_t>(hex.size()));
  close(key_fds[1]);
  // Wait until the child says several batches of the big attachment are committed and it
  // is in the middle of more.
  std::string said;
  char c;
  while (said.find("streaming\n") == std::string::npos && read(fds[0], &c, 1) == 1) said += c;
  ASSERT_NE(said.find("streaming\n"), std::string::npos) << "child said: " << said;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wstatus));

  // Reopened as the Vault would after a crash: the encrypted WAL the child left is recovered.
  {
    ASSERT_TRUE(vault::AttachKey(path, TestPageKey()).ok());
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, vault::kVfsName);
    ASSERT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(raw);
    auto st = vault::ConfigureConnection(raw, true);
    ASSERT_TRUE(st.ok()) << st.ToString();
    sqlite3_close(raw);
  }
  db_ = OpenTestDb(path);
  auto s = Store::Open(db_.get());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
  auto t = store_->Get(Id(1));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->fields().title(), "before the kill");
  ASSERT_EQ(t->attachments_size(), 1);  // only the finished one
  EXPECT_EQ(t->attachments(0).attachment_id(), AttId(1));
  EXPECT_EQ(store_->OpenAttachment(AttId(2)).status().code(), Code::kNotFound);
  auto r = store_->OpenAttachment(AttId(1));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->Verify().ok());
  EXPECT_EQ(CountChunks(), static_cast<int64_t>(t->attachments(0).chunk_count()));
  auto check = sql::Stmt::Prepare(db_.get(), "PRAGMA integrity_check");
  ASSERT_TRUE(*check->Step());
  EXPECT_EQ(check->Text(0), "ok");
}

}  // namespace
}  // namespace estelik::store
