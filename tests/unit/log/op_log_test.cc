#include "core/log/op_log.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "core/bytes.h"
#include "core/deflate.h"
#include "tests/unit/log/log_test_util.h"

namespace estelik::log {
namespace {

using testing::CountRows;
using testing::KeyBytes;
using testing::Peer;
using testing::Seed;
using testing::TagBody;

constexpr uint64_t kT = 1'700'000'000'000;

// Ingests into `to` every op of `scope` that `from` has and `to` lacks.
void SyncScope(Peer& from, Peer& to, const Scope& scope) {
  auto vv = to->GetVersionVector(scope);
  ASSERT_TRUE(vv.ok());
  auto ops = from->OpsAfter(*vv, scope, 100000);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  for (const auto& env : *ops) {
    auto r = to->Ingest(env, kT);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

// Everything a rejected op could have touched.
struct Snapshot {
  int64_t ops, heads, forks, circles, members, epochs;
  explicit Snapshot(sqlite3* db)
      : ops(CountRows(db, "log_ops")),
        heads(CountRows(db, "log_heads")),
        forks(CountRows(db, "log_forks")),
        circles(CountRows(db, "log_circles")),
        members(CountRows(db, "log_circle_members")),
        epochs(CountRows(db, "log_circle_epochs")) {}
  bool operator==(const Snapshot&) const = default;
};

// Builds an op by hand (as a malicious or broken peer would), signed by `author`.
pb::Envelope Craft(const Identity& author, const std::string& circle, uint32_t epoch, uint64_t seq,
                   const std::string& prev, const pb::OpBody& body, std::span<const uint8_t> key) {
  pb::Op h;
  h.set_version(kOpVersion);
  h.set_author(KeyBytes(author.public_key()));
  h.set_seq(seq);
  h.set_prev(prev.empty() ? std::string(kHashSize, '\0') : prev);
  h.mutable_hlc()->set_wall_ms(kT);
  h.mutable_scope()->set_circle_id(circle);
  h.mutable_scope()->set_epoch(epoch);
  std::vector<uint8_t> nonce(kNonceSize);
  randombytes_buf(nonce.data(), nonce.size());
  return SealAndSign(author, h, body.SerializeAsString(), key, nonce);
}

// Signs `header` exactly as given: an author can sign any header it likes, so only the checks
// after the signature stand between such an op and the log.
pb::Envelope SignAsIs(const Identity& author, const pb::Op& header) {
  pb::Envelope env;
  env.set_op(header.SerializeAsString());
  std::string input(kSignContext);
  input += env.op();
  Signature sig = author.Sign(AsBytes(input));
  env.set_signature(sig.data(), sig.size());
  return env;
}

// About 1.3 KB of testimony text, the size that dominates a real envelope.
pb::OpBody LongTestimonyBody() {
  std::string text;
  for (int i = 0; i < 6; ++i) {
    text +=
        "Біз алаңда тұрдық, кенеттен оқ атылды. Мы стояли на площади, и вдруг начали "
        "стрелять. Part " +
        std::to_string(i) + ": people ran toward the market and the bus station. ";
  }
  pb::OpBody body;
  auto* c = body.mutable_testimony_create();
  c->set_testimony_id(std::string(16, '\x03'));
  c->mutable_fields()->set_language("kk");
  c->mutable_fields()->set_title("Жаңаөзен");
  c->mutable_fields()->set_body(text);
  return body;
}

std::string HashString(const pb::Envelope& env) {
  OpHash h = HashOpBytes(env.op());
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// The epoch key a grant in `env` gives `who` (tests play a member leaking or misusing it).
crypto::SecretBytes KeyFromGrant(const Identity& who, const pb::Envelope& env) {
  pb::Op op = std::move(ParseOpHeader(env.op())).value();
  for (const auto& g : op.key_grants()) {
    auto k = OpenGrant(who, g, AsBytes(op.scope().circle_id()), op.scope().epoch());
    if (k) return std::move(*k);
  }
  ADD_FAILURE() << "no grant for this identity";
  return crypto::SecretBytes(kBodyKeySize);
}

class CircleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = alice->CreateCircle("Mangystau documentation", kT);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    circle_ = created->circle_id;
    auto add = alice->AddMember(circle_, bob.key(), kT + 1);
    ASSERT_TRUE(add.ok()) << add.status().ToString();
    bob_grant_op_ = *add;
  }
  Scope scope() const { return Scope::Circle(circle_); }
  // The epoch 0 key, as Bob holds it (tests use it to play a misbehaving member).
  crypto::SecretBytes BobsKey() {
    return KeyFromGrant(std::move(Identity::FromSeed(Seed(2))).value(), bob_grant_op_);
  }

  Peer alice{1, "alice.db"};
  Peer bob{2, "bob.db"};
  std::string circle_;
  pb::Envelope bob_grant_op_;
};

TEST(OpLogTest, LocalOpsFormAContiguousHashChainThatOpensLocally) {
  Peer p(1);
  std::string prev(kHashSize, '\0');
  for (uint64_t i = 1; i <= 3; ++i) {
    auto env = p->Append(TagBody("tag" + std::to_string(i)), Scope::Private(), kT + i);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto op = ParseOpHeader(env->op());
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(op->seq(), i);
    EXPECT_EQ(op->prev(), prev);
    prev = HashString(*env);
    auto body = p->OpenBody(*env);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ(body->tag_add().tag(), "tag" + std::to_string(i));
  }
  auto vv = p->GetVersionVector(Scope::Private());
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(vv->at(KeyBytes(p.key())), 3u);
}

TEST(OpLogTest, LongTextBodyIsDeflatedBeforeSealingAndOpensToTheCommittedBytes) {
  Peer p(1);
  auto env = p->Append(LongTestimonyBody(), Scope::Private(), kT);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto op = ParseOpHeader(env->op());
  ASSERT_TRUE(op.ok());
  std::string plain;
  auto body = p->OpenBody(*env, &plain);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(body->testimony_create().fields().body(),
            LongTestimonyBody().testimony_create().fields().body());
  EXPECT_EQ(op->body_codec(), kBodyCodecDeflate);
  // Nonce and tag included, the sealed body is smaller than the plaintext alone.
  EXPECT_LT(op->sealed_body().size(), plain.size());
  // The commitment (what evidence checks) is over the uncompressed OpBody bytes.
  EXPECT_TRUE(CheckBodyCommitment(*op, plain).ok());
  pb::OpBody reparsed;
  ASSERT_TRUE(reparsed.ParseFromString(plain));
  EXPECT_EQ(reparsed.testimony_create().fields().title(), "Жаңаөзен");
}

TEST(OpLogTest, BodyShorterThan64BytesIsSealedAsItIs) {
  Peer p(1);
  auto env = p->Append(TagBody("kk"), Scope::Private(), kT);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto op = ParseOpHeader(env->op());
  ASSERT_TRUE(op.ok());
  std::string plain;
  ASSERT_TRUE(p->OpenBody(*env, &plain).ok());
  ASSERT_LT(plain.size(), 64u);  // it would deflate to about 32 bytes
  EXPECT_EQ(op->body_codec(), kBodyCodecPlain);
  EXPECT_EQ(op->sealed_body().size(), kNonceSize + plain.size() + kTagSize);
}

TEST(OpLogTest, IdentityChainAndClockSurviveReopeningWithAClockThatWentBackwards) {
  Peer p(1);
  ASSERT_TRUE(p->Append(TagBody("a"), Scope::Private(), kT + 5000).ok());
  PublicKey before = p.key();
  p.Reopen(1);
  EXPECT_EQ(p.key(), before);
  auto env = p->Append(TagBody("b"), Scope::Private(), kT);  // device clock now 5 s earlier
  ASSERT_TRUE(env.ok());
  auto op = ParseOpHeader(env->op());
  EXPECT_EQ(op->seq(), 2u);
  EXPECT_EQ(op->hlc().wall_ms(), kT + 5000);
  EXPECT_EQ(op->hlc().counter(), 1u);
}

TEST(OpLogTest, OpeningWithADifferentIdentitySeedIsRefused) {
  Peer p(1);
  OpLogOptions o;
  o.identity_seed = Seed(2);
  auto other = OpLog::Open(p.db(), crypto::SecretBytes::Random(kBodyKeySize), o);
  EXPECT_EQ(other.status().code(), Code::kAlreadyExists);
}

TEST(OpLogTest, PrivateOpsFromAnotherDeviceAreRefused) {
  Peer a(1, "a.db"), b(2, "b.db");
  auto env = a->Append(TagBody("x"), Scope::Private(), kT);
  ASSERT_TRUE(env.ok());
  Snapshot before(b.db());
  EXPECT_EQ(b->Ingest(*env, kT).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(Snapshot(b.db()), before);
  EXPECT_EQ(b->OpenBody(*env).status().code(), Code::kPermissionDenied);
}

TEST(OpLogTest, ContactsCanBeAddedListedAndRemovedAndEachChangeIsAnOp) {
  Peer p(1);
  PublicKey friend_key = std::move(Identity::FromSeed(Seed(7))).value().public_key();
  ASSERT_TRUE(p->AddContact(friend_key, "Aigerim", kT).ok());
  auto list = p->Contacts();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "Aigerim");
  EXPECT_EQ((*list)[0].public_key, friend_key);
  ASSERT_TRUE(p->RemoveContact(friend_key, kT + 1).ok());
  EXPECT_TRUE(p->Contacts()->empty());
  EXPECT_EQ(p->RemoveContact(friend_key, kT + 2).status().code(), Code::kNotFound);
  EXPECT_EQ(p->GetVersionVector(Scope::Private())->at(KeyBytes(p.key())), 2u);
  PublicKey bogus{};
  EXPECT_EQ(p->AddContact(bogus, "nobody", kT).status().code(), Code::kInvalidArgument);
}

TEST_F(CircleTest, AddedMemberReceivesTheCircleAndReadsItsOps) {
  auto post = alice->Append(TagBody("evidence"), scope(), kT + 2);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  SyncScope(alice, bob, scope());
  auto body = bob->OpenBody(*post);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(body->tag_add().tag(), "evidence");
  auto info = bob->GetCircle(circle_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, "Mangystau documentation");
  EXPECT_EQ(info->admin, alice.key());
  EXPECT_EQ(info->members.size(), 2u);
  // And Bob may post; Alice accepts it.
  auto reply = bob->Append(TagBody("confirmed"), scope(), kT + 3);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*alice->Ingest(*reply, kT + 3), IngestOutcome::kAccepted);
  EXPECT_EQ(alice->OpenBody(*reply)->tag_add().tag(), "confirmed");
}

TEST_F(CircleTest, NewMemberLearnsTheCircleFromItsGrantEvenBeforeEarlierOps) {
  // The grant op (Alice's seq 2) arrives first: Bob learns the circle and holds it pending.
  EXPECT_EQ(*bob->Ingest(bob_grant_op_, kT), IngestOutcome::kPending);
  ASSERT_TRUE(bob->GetCircle(circle_).ok());
  SyncScope(alice, bob, scope());  // now seq 1 fills the gap and seq 2 follows
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 2u);
}

TEST_F(CircleTest, OpsHeldForAnUnknownCircleGoInOnceTheGrantArrives) {
  auto create = alice->OpsAt(alice.key(), scope(), 1);
  ASSERT_EQ(create->size(), 1u);
  EXPECT_EQ(*bob->Ingest((*create)[0], kT), IngestOutcome::kPending);  // circle unknown
  EXPECT_EQ(*bob->Ingest(bob_grant_op_, kT), IngestOutcome::kAccepted);
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 2u);
}

TEST_F(CircleTest, DuplicateOpIsIdempotent) {
  SyncScope(alice, bob, scope());
  Snapshot before(bob.db());
  EXPECT_EQ(*bob->Ingest(bob_grant_op_, kT), IngestOutcome::kDuplicate);
  EXPECT_EQ(Snapshot(bob.db()), before);
}

TEST_F(CircleTest, OpAfterAGapIsHeldUntilTheGapFills) {
  SyncScope(alice, bob, scope());
  auto a3 = alice->Append(TagBody("3"), scope(), kT + 3);
  auto a4 = alice->Append(TagBody("4"), scope(), kT + 4);
  auto a5 = alice->Append(TagBody("5"), scope(), kT + 5);
  ASSERT_TRUE(a3.ok() && a4.ok() && a5.ok());
  EXPECT_EQ(*bob->Ingest(*a5, kT), IngestOutcome::kPending);
  EXPECT_EQ(*bob->Ingest(*a4, kT), IngestOutcome::kPending);
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 2u);
  EXPECT_EQ(*bob->Ingest(*a3, kT), IngestOutcome::kAccepted);
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 5u);
}

TEST_F(CircleTest, PendingOpsAreBounded) {
  Peer carol(3, "carol.db");
  OpLogOptions small;
  small.identity_seed = Seed(2);
  small.max_pending_ops = 2;
  auto bob_small = OpLog::Open(bob.db(), crypto::SecretBytes::Random(kBodyKeySize), small);
  ASSERT_TRUE(bob_small.ok());
  SyncScope(alice, bob, scope());
  std::vector<pb::Envelope> later;
  for (int i = 0; i < 4; ++i) later.push_back(*alice->Append(TagBody("t"), scope(), kT + 9));
  EXPECT_EQ(*(*bob_small)->Ingest(later[1], kT), IngestOutcome::kPending);
  EXPECT_EQ(*(*bob_small)->Ingest(later[2], kT), IngestOutcome::kPending);
  EXPECT_EQ((*bob_small)->Ingest(later[3], kT).status().code(), Code::kLimitExceeded);
}

TEST_F(CircleTest, TamperedOpsAreRejectedWithoutChangingAnything) {
  SyncScope(alice, bob, scope());
  auto post = alice->Append(TagBody("original"), scope(), kT + 2);
  ASSERT_TRUE(post.ok());
  Snapshot before(bob.db());
  for (size_t i = 0; i < post->op().size(); i += 7) {
    pb::Envelope t = *post;
    (*t.mutable_op())[i] = static_cast<char>(t.op()[i] ^ 0x80);
    EXPECT_FALSE(bob->Ingest(t, kT).ok()) << "byte " << i;
  }
  pb::Envelope bad_sig = *post;
  (*bad_sig.mutable_signature())[10] ^= 0x01;
  EXPECT_EQ(bob->Ingest(bad_sig, kT).status().code(), Code::kCorrupt);
  EXPECT_EQ(Snapshot(bob.db()), before);
  EXPECT_EQ(*bob->Ingest(*post, kT), IngestOutcome::kAccepted);
}

TEST_F(CircleTest, OpWhosePrevDoesNotMatchTheChainIsRejected) {
  SyncScope(alice, bob, scope());
  Identity alice_id = std::move(Identity::FromSeed(Seed(1))).value();
  crypto::SecretBytes key = BobsKey();
  pb::Envelope wrong =
      Craft(alice_id, circle_, 0, 3, std::string(kHashSize, '\x09'), TagBody("x"), key.span());
  Snapshot before(bob.db());
  auto r = bob->Ingest(wrong, kT);
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("hash chain broken"), std::string::npos);
  EXPECT_EQ(Snapshot(bob.db()), before);
}

TEST_F(CircleTest, ForkIsKeptAsEvidenceAndTheAuthorIsFlagged) {
  SyncScope(alice, bob, scope());
  auto a3 = alice->Append(TagBody("what happened"), scope(), kT + 3);
  ASSERT_TRUE(a3.ok());
  EXPECT_EQ(*bob->Ingest(*a3, kT), IngestOutcome::kAccepted);
  // Alice's vault restored from an old backup (or a stolen key) signs another seq 3.
  Identity alice_id = std::move(Identity::FromSeed(Seed(1))).value();
  crypto::SecretBytes key = BobsKey();
  pb::Envelope other = Craft(alice_id, circle_, 0, 3, ParseOpHeader(a3->op())->prev(),
                             TagBody("a different story"), key.span());
  EXPECT_EQ(*bob->Ingest(other, kT), IngestOutcome::kFork);
  auto forked = bob->ForkedAuthors();
  ASSERT_TRUE(forked.ok());
  ASSERT_EQ(forked->size(), 1u);
  EXPECT_EQ((*forked)[0], alice.key());
  auto both = bob->OpsAt(alice.key(), scope(), 3);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].op(), a3->op());  // the first one seen stays on the chain
  EXPECT_EQ((*both)[1].op(), other.op());
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 3u);
  // The fork is idempotent too.
  EXPECT_EQ(*bob->Ingest(other, kT), IngestOutcome::kDuplicate);
}

TEST_F(CircleTest, OnlyTheAdminMayAddMembers) {
  SyncScope(alice, bob, scope());
  PublicKey mallory = std::move(Identity::FromSeed(Seed(9))).value().public_key();
  EXPECT_EQ(bob->AddMember(circle_, mallory, kT).status().code(), Code::kPermissionDenied);
  // Bob crafts the op by hand, with the real epoch key, and sends it to Alice.
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = KeyFromGrant(bob_id, bob_grant_op_);
  pb::OpBody body;
  body.mutable_member_add()->set_member(KeyBytes(mallory));
  auto* m = body.mutable_member_add()->mutable_membership();
  m->set_circle_id(circle_);
  m->set_admin(KeyBytes(bob.key()));
  m->add_members(KeyBytes(alice.key()));
  m->add_members(KeyBytes(bob.key()));
  m->add_members(KeyBytes(mallory));
  pb::Envelope forged = Craft(bob_id, circle_, 0, 1, "", body, key.span());
  Snapshot before(alice.db());
  auto r = alice->Ingest(forged, kT);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(Snapshot(alice.db()), before);
  EXPECT_EQ(alice->GetCircle(circle_)->members.size(), 2u);
}

TEST_F(CircleTest, NonMemberPostIsRejectedEvenWithTheKey) {
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = KeyFromGrant(bob_id, bob_grant_op_);  // leaked to Mallory
  Identity mallory = std::move(Identity::FromSeed(Seed(9))).value();
  pb::Envelope post = Craft(mallory, circle_, 0, 1, "", TagBody("spam"), key.span());
  Snapshot before(alice.db());
  EXPECT_EQ(alice->Ingest(post, kT).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(Snapshot(alice.db()), before);
}

TEST_F(CircleTest, APostThatArrivesBeforeTheOpAddingItsAuthorWaitsForItUnstored) {
  SyncScope(alice, bob, scope());
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  SyncScope(alice, carol, scope());
  auto post = carol->Append(TagBody("new here"), scope(), kT + 3);
  ASSERT_TRUE(post.ok());
  // Bob holds the epoch key but not yet the op adding Carol: only the admin could tell a
  // non-member from a member whose add is on its way, so Bob holds the post in memory.
  Snapshot before(bob.db());
  EXPECT_EQ(*bob->Ingest(*post, kT), IngestOutcome::kPending);
  EXPECT_EQ(Snapshot(bob.db()), before);
  // A stranger with a leaked key gets no further: held, never stored, never opened.
  crypto::SecretBytes key = BobsKey();
  Identity mallory = std::move(Identity::FromSeed(Seed(9))).value();
  pb::Envelope spam = Craft(mallory, circle_, 0, 1, "", TagBody("spam"), key.span());
  EXPECT_EQ(*bob->Ingest(spam, kT), IngestOutcome::kPending);
  EXPECT_EQ(Snapshot(bob.db()), before);
  // The add arrives: Carol's post joins her chain; Mallory's stays out.
  SyncScope(alice, bob, scope());
  auto vv = bob->GetVersionVector(scope());
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ((*vv)[KeyBytes(carol.key())], 1u);
  EXPECT_EQ(vv->count(KeyBytes(mallory.public_key())), 0u);
  auto opened = bob->OpenBody(*post);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->tag_add().tag(), "new here");
}

TEST_F(CircleTest, OpsOfUnknownCirclesAreHeldButNeverStored) {
  Peer carol(3, "carol.db");
  auto post = alice->Append(TagBody("x"), scope(), kT);
  Snapshot before(carol.db());
  EXPECT_EQ(*carol->Ingest(*post, kT), IngestOutcome::kPending);
  EXPECT_EQ(Snapshot(carol.db()), before);
  EXPECT_TRUE(carol->GetVersionVector(scope())->empty());
  EXPECT_EQ(carol->OpenBody(*post).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(carol->Append(TagBody("x"), scope(), kT).status().code(), Code::kNotFound);
}

TEST_F(CircleTest, RelayStoresAndForwardsCircleOpsItCannotRead) {
  Peer relay(5, "relay.db");
  ASSERT_TRUE(relay->CarryCircle(circle_).ok());
  auto post = alice->Append(TagBody("for the investigators"), scope(), kT + 2);
  ASSERT_TRUE(post.ok());
  SyncScope(alice, relay, scope());
  EXPECT_EQ(relay->GetVersionVector(scope())->at(KeyBytes(alice.key())), 3u);
  auto body = relay->OpenBody(*post);
  EXPECT_EQ(body.status().code(), Code::kPermissionDenied);
  EXPECT_NE(body.status().message().find("no key for circle"), std::string::npos)
      << body.status().message();
  EXPECT_TRUE(relay->GetCircle(circle_)->carrier_only);
  // Bob gets everything from the relay alone and can read it.
  SyncScope(relay, bob, scope());
  auto read = bob->OpenBody(*post);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->tag_add().tag(), "for the investigators");
}

TEST_F(CircleTest, RemovedMemberCannotReadTheNewEpoch) {
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  SyncScope(alice, bob, scope());
  SyncScope(alice, carol, scope());
  auto old_post = alice->Append(TagBody("epoch 0"), scope(), kT + 3);
  ASSERT_TRUE(alice->RemoveMember(circle_, carol.key(), kT + 4).ok());
  auto new_post = alice->Append(TagBody("epoch 1"), scope(), kT + 5);
  ASSERT_TRUE(new_post.ok());
  EXPECT_EQ(ParseOpHeader(new_post->op())->scope().epoch(), 1u);
  SyncScope(alice, bob, scope());
  SyncScope(alice, carol, scope());
  EXPECT_TRUE(carol->OpenBody(*old_post).ok());
  auto denied = carol->OpenBody(*new_post);
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("epoch 1"), std::string::npos);
  EXPECT_EQ(carol->Append(TagBody("still here?"), scope(), kT + 6).status().code(),
            Code::kPermissionDenied);
  auto bob_reads = bob->OpenBody(*new_post);
  ASSERT_TRUE(bob_reads.ok()) << bob_reads.status().ToString();
  EXPECT_EQ(bob_reads->tag_add().tag(), "epoch 1");
  auto info = bob->GetCircle(circle_);
  EXPECT_EQ(info->epoch, 1u);
  EXPECT_EQ(info->members.size(), 2u);
  // Bob posts in the new epoch and Alice accepts it.
  auto reply = bob->Append(TagBody("ok"), scope(), kT + 7);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(ParseOpHeader(reply->op())->scope().epoch(), 1u);
  EXPECT_EQ(*alice->Ingest(*reply, kT), IngestOutcome::kAccepted);
}

TEST_F(CircleTest, VersionVectorsAndOpsAfterReturnExactlyTheMissingOpsInAuthorOrder) {
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  SyncScope(alice, bob, scope());
  SyncScope(alice, carol, scope());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(bob->Append(TagBody("b"), scope(), kT + 10).ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(carol->Append(TagBody("c"), scope(), kT + 10).ok());
  SyncScope(bob, alice, scope());
  SyncScope(carol, alice, scope());
  auto vv = alice->GetVersionVector(scope());
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(vv->size(), 3u);
  EXPECT_EQ(vv->at(KeyBytes(alice.key())), 3u);
  EXPECT_EQ(vv->at(KeyBytes(bob.key())), 4u);
  EXPECT_EQ(vv->at(KeyBytes(carol.key())), 2u);

  VersionVector theirs = {{KeyBytes(alice.key()), 3}, {KeyBytes(bob.key()), 1}};
  auto missing = alice->OpsAfter(theirs, scope(), 100);
  ASSERT_TRUE(missing.ok());
  ASSERT_EQ(missing->size(), 5u);  // bob 2..4, carol 1..2
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& env : *missing) {
    auto op = ParseOpHeader(env.op());
    got.emplace_back(op->author(), op->seq());
  }
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1], got[i]);  // author, then seq
  auto limited = alice->OpsAfter(theirs, scope(), 2);
  EXPECT_EQ(limited->size(), 2u);
  EXPECT_TRUE(alice->OpsAfter(*vv, scope(), 100)->empty());
}

TEST_F(CircleTest, RunVerifiedByTheHeadSignatureIsAcceptedWhenHonest) {
  SyncScope(alice, bob, scope());
  std::vector<pb::Envelope> run;
  for (int i = 0; i < 10; ++i) run.push_back(*alice->Append(TagBody("r"), scope(), kT + 20));
  EXPECT_EQ(*bob->IngestRun(run, kT), IngestOutcome::kAccepted);
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 12u);
  EXPECT_EQ(*bob->VerifyStoredSignatures(), 0u);
  EXPECT_EQ(bob->OpenBody(run[4])->tag_add().tag(), "r");
}

TEST_F(CircleTest, RunWithAnAlteredMiddleOpOrForgedHeadIsRejectedWhole) {
  SyncScope(alice, bob, scope());
  std::vector<pb::Envelope> run;
  for (int i = 0; i < 10; ++i) run.push_back(*alice->Append(TagBody("r"), scope(), kT + 20));
  Identity alice_id = std::move(Identity::FromSeed(Seed(1))).value();
  crypto::SecretBytes key = BobsKey();
  Snapshot before(bob.db());

  // A middle op replaced by another validly signed op: the successor's prev catches it.
  auto altered = run;
  altered[5] = Craft(alice_id, circle_, 0, ParseOpHeader(run[5].op())->seq(),
                     ParseOpHeader(run[5].op())->prev(), TagBody("altered"), key.span());
  EXPECT_EQ(bob->IngestRun(altered, kT).status().code(), Code::kCorrupt);
  EXPECT_EQ(Snapshot(bob.db()), before);

  // A middle op's bytes changed (its own signature now fails): the chain catches it.
  auto flipped = run;
  (*flipped[5].mutable_op())[flipped[5].op().size() - 3] ^= 0x01;
  EXPECT_EQ(bob->IngestRun(flipped, kT).status().code(), Code::kCorrupt);
  EXPECT_EQ(Snapshot(bob.db()), before);

  // The head's signature forged by someone else.
  auto forged = run;
  Identity mallory = std::move(Identity::FromSeed(Seed(9))).value();
  auto sig = mallory.Sign(AsBytes(std::string(kSignContext) + forged.back().op()));
  forged.back().set_signature(sig.data(), sig.size());
  EXPECT_EQ(bob->IngestRun(forged, kT).status().code(), Code::kCorrupt);
  EXPECT_EQ(Snapshot(bob.db()), before);

  // Per-op Ingest agrees that these runs are not acceptable as a whole.
  EXPECT_FALSE(bob->Ingest(forged.back(), kT).ok());
  EXPECT_EQ(bob->IngestRun(run, kT).status().ok(), true);
}

TEST_F(CircleTest, RunThatDoesNotExtendTheHeadFallsBackToPerOpChecks) {
  SyncScope(alice, bob, scope());
  std::vector<pb::Envelope> run;
  for (int i = 0; i < 6; ++i) run.push_back(*alice->Append(TagBody("r"), scope(), kT + 20));
  // Overlapping: the first two are already held.
  ASSERT_TRUE(bob->Ingest(run[0], kT).ok());
  ASSERT_TRUE(bob->Ingest(run[1], kT).ok());
  EXPECT_EQ(*bob->IngestRun(run, kT), IngestOutcome::kAccepted);
  EXPECT_EQ(bob->GetVersionVector(scope())->at(KeyBytes(alice.key())), 8u);
}

TEST_F(CircleTest, NobodyButTheAdminCanClaimACircleEvenToAPeerWhoDoesNotKnowIt) {
  // Bob (a member, so he knows the id and key) tells Carol, who has never heard of the
  // circle, that he is its admin and grants her the key.
  Peer carol(3, "carol.db");
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = BobsKey();
  pb::OpBody body;
  body.mutable_member_add()->set_member(KeyBytes(carol.key()));
  auto* m = body.mutable_member_add()->mutable_membership();
  m->set_circle_id(circle_);
  m->set_admin(KeyBytes(bob.key()));
  m->set_salt(std::string(kCircleSaltSize, 's'));
  m->add_members(KeyBytes(bob.key()));
  m->add_members(KeyBytes(carol.key()));
  pb::Op h =
      std::move(ParseOpHeader(Craft(bob_id, circle_, 0, 1, "", body, key.span()).op())).value();
  h.clear_sealed_body();
  h.add_key_grants(
      SealGrant(carol->identity().x25519_public_key(), AsBytes(circle_), 0, key.span()));
  std::vector<uint8_t> nonce(kNonceSize, 1);
  pb::Envelope claim = SealAndSign(bob_id, h, body.SerializeAsString(), key.span(), nonce);
  Snapshot before(carol.db());
  auto r = carol->Ingest(claim, kT);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(Snapshot(carol.db()), before);
  EXPECT_EQ(carol->GetCircle(circle_).status().code(), Code::kNotFound);
}

TEST_F(CircleTest, CompressedCodecOnABodyThatIsNotDeflateIsCorruptAndChangesNothing) {
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = BobsKey();
  // An honest short op (sealed as it is), then its codec switched to 1 and re-signed by its
  // author: the body still decrypts (the codec is not in the AD) but is not DEFLATE.
  pb::Op h =
      std::move(ParseOpHeader(Craft(bob_id, circle_, 0, 1, "", TagBody("x"), key.span()).op()))
          .value();
  ASSERT_EQ(h.body_codec(), kBodyCodecPlain);
  h.set_body_codec(kBodyCodecDeflate);
  Snapshot before(alice.db());
  auto r = alice->Ingest(SignAsIs(bob_id, h), kT);
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
  EXPECT_NE(r.status().message().find("op " + Fingerprint(bob.key()) + " seq 1"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Snapshot(alice.db()), before);
}

TEST_F(CircleTest, BodyThatInflatesPastOneMiBStopsAtTheBoundAndChangesNothing) {
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = BobsKey();
  pb::Op h =
      std::move(ParseOpHeader(Craft(bob_id, circle_, 0, 1, "", TagBody("x"), key.span()).op()))
          .value();
  // A ~1 KB stream that inflates to 1 MiB + 1 bytes, sealed and signed by its author.
  std::string bomb = DeflateRaw(std::string(kMaxOpBytes + 1, 'x'), 9);
  ASSERT_LT(bomb.size(), 4096u);
  h.set_body_codec(kBodyCodecDeflate);
  std::vector<uint8_t> nonce(kNonceSize, 7);
  h.set_sealed_body(SealBody(key.span(), nonce, BodyAssociatedData(h), bomb));
  Snapshot before(alice.db());
  auto r = alice->Ingest(SignAsIs(bob_id, h), kT);
  EXPECT_EQ(r.status().code(), Code::kLimitExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("inflates to more than 1048576 bytes"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Snapshot(alice.db()), before);
}

TEST_F(CircleTest, BodyCodecNewerThanThisAppIsUnsupportedAndChangesNothing) {
  Identity bob_id = std::move(Identity::FromSeed(Seed(2))).value();
  crypto::SecretBytes key = BobsKey();
  pb::Op h =
      std::move(ParseOpHeader(Craft(bob_id, circle_, 0, 1, "", TagBody("x"), key.span()).op()))
          .value();
  h.set_body_codec(2);
  Snapshot before(alice.db());
  auto r = alice->Ingest(SignAsIs(bob_id, h), kT);
  EXPECT_EQ(r.status().code(), Code::kUnsupported) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "op body codec 2 is newer than this app understands");
  EXPECT_EQ(Snapshot(alice.db()), before);
}

TEST_F(CircleTest, RunWithADamagedMiddleSignatureIsAuthenticByChainAndFlaggedLazily) {
  SyncScope(alice, bob, scope());
  std::vector<pb::Envelope> run;
  for (int i = 0; i < 5; ++i) run.push_back(*alice->Append(TagBody("r"), scope(), kT + 20));
  (*run[2].mutable_signature())[0] ^= 0x01;  // the op bytes are intact
  EXPECT_EQ(*bob->IngestRun(run, kT), IngestOutcome::kAccepted);
  // That op cannot be exported alone as evidence; the lazy check says so.
  EXPECT_EQ(*bob->VerifyStoredSignatures(), 1u);
}

TEST_F(CircleTest, AppendRefusesMembershipAndContactBodies) {
  pb::OpBody body;
  body.mutable_member_add()->set_member(std::string(32, 'x'));
  EXPECT_EQ(alice->Append(body, scope(), kT).status().code(), Code::kInvalidArgument);
  pb::OpBody contact;
  contact.mutable_contact_add()->set_name("x");
  EXPECT_EQ(alice->Append(contact, Scope::Private(), kT).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(alice->Append(pb::OpBody(), Scope::Private(), kT).status().code(),
            Code::kInvalidArgument);
}

// --- Removal is final for writing (docs/FORMAT.md "Acceptance rules", "Merge") ---

TEST_F(CircleTest, ARemovalFixesTheCutAndTheRemovedMembersLaterOpsAreVoidEverywhere) {
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  SyncScope(alice, bob, scope());
  SyncScope(alice, carol, scope());
  auto kept = carol->Append(TagBody("before the removal"), scope(), kT + 3);
  ASSERT_TRUE(kept.ok());
  SyncScope(carol, alice, scope());
  SyncScope(carol, bob, scope());
  // Alice removes Carol holding her seq 1; Carol has not heard and posts twice more.
  auto removal = alice->RemoveMember(circle_, carol.key(), kT + 4);
  ASSERT_TRUE(removal.ok());
  auto opened_removal = alice->OpenBody(*removal);
  ASSERT_TRUE(opened_removal.ok());
  ASSERT_TRUE(opened_removal->member_remove().has_cut());
  EXPECT_EQ(opened_removal->member_remove().cut(), 1u);
  auto late1 = carol->Append(TagBody("after the removal"), scope(), kT + 5);
  auto late2 = carol->Append(TagBody("and again"), scope(), kT + 6);
  ASSERT_TRUE(late1.ok() && late2.ok());
  EXPECT_EQ(ParseOpHeader(late1->op())->scope().epoch(), 0u);

  // Bob gets Carol's late ops first (he reads them: nothing tells him yet)...
  ASSERT_EQ(*bob->Ingest(*late1, kT), IngestOutcome::kAccepted);
  ASSERT_TRUE(bob->OpenBody(*late1).ok());
  // ...then the removal: from now on they are void for him, and her op before it is not.
  SyncScope(alice, bob, scope());
  ASSERT_EQ(*bob->Ingest(*late2, kT), IngestOutcome::kAccepted);  // stored: her chain stays whole
  for (const auto* late : {&*late1, &*late2}) {
    auto denied = bob->OpenBody(*late);
    EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
    EXPECT_NE(denied.status().message().find("void"), std::string::npos)
        << denied.status().ToString();
  }
  EXPECT_TRUE(bob->OpenBody(*kept).ok());
  auto cuts = bob->RemovalCuts(scope());
  ASSERT_TRUE(cuts.ok());
  ASSERT_EQ(cuts->size(), 1u);
  EXPECT_EQ(cuts->front(), (RemovalCut{KeyBytes(carol.key()), 1, 1}));
  EXPECT_TRUE(*bob->HoldsOpsPastCut(scope(), cuts->front()));
  EXPECT_TRUE(*bob->HoldsUnappliedOpBefore(scope(), KeyBytes(carol.key()), 4));
  EXPECT_FALSE(*bob->HoldsUnappliedOpBefore(scope(), KeyBytes(carol.key()), 2));
  // Alice, who fixed the cut, stores them and never opens them either.
  SyncScope(carol, alice, scope());
  EXPECT_EQ(alice->OpenBody(*late2).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(*alice->GetVersionVector(scope()), *bob->GetVersionVector(scope()));
}

TEST_F(CircleTest, AnAuthorsChainThatReturnsToAnEarlierEpochIsRefusedAndChangesNothing) {
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  ASSERT_TRUE(alice->RemoveMember(circle_, carol.key(), kT + 3).ok());
  SyncScope(alice, bob, scope());
  // Bob posts in epoch 1, then signs an op sealed with the epoch-0 key he kept.
  auto in_new = bob->Append(TagBody("epoch 1"), scope(), kT + 4);
  ASSERT_TRUE(in_new.ok());
  SyncScope(bob, alice, scope());
  auto back = Craft(std::move(Identity::FromSeed(Seed(2))).value(), circle_, 0, 2,
                    HashString(*in_new), TagBody("back in epoch 0"), BobsKey().span());
  Snapshot before(alice.db());
  auto refused = alice->Ingest(back, kT);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("returns to epoch 0 after epoch 1"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(Snapshot(alice.db()), before);
  // The same inside a run taking the fast path (one signature for the run).
  auto next = Craft(std::move(Identity::FromSeed(Seed(2))).value(), circle_, 0, 3, HashString(back),
                    TagBody("and on"), BobsKey().span());
  EXPECT_EQ(alice->IngestRun({back, next}, kT).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(Snapshot(alice.db()), before);
}

TEST_F(CircleTest, AReaddedMemberWritesAgainAndItsVoidOpsStayVoidForItToo) {
  Peer carol(3, "carol.db");
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 2).ok());
  SyncScope(alice, carol, scope());
  ASSERT_TRUE(alice->RemoveMember(circle_, carol.key(), kT + 3).ok());  // cut 0
  auto late = carol->Append(TagBody("while removed"), scope(), kT + 4);
  ASSERT_TRUE(late.ok());
  SyncScope(carol, alice, scope());
  // Carol holds the removal without its key (epoch 1): she cannot read its cut yet.
  SyncScope(alice, carol, scope());
  EXPECT_TRUE(carol->OpenBody(*late).ok());
  // Re-added (epoch 1): the grant opens the removal she held; its cut now counts for her.
  ASSERT_TRUE(alice->AddMember(circle_, carol.key(), kT + 5).ok());
  SyncScope(alice, carol, scope());
  EXPECT_EQ(carol->OpenBody(*late).status().code(), Code::kPermissionDenied);
  auto back = carol->Append(TagBody("back in the circle"), scope(), kT + 6);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ParseOpHeader(back->op())->scope().epoch(), 1u);
  EXPECT_EQ(ParseOpHeader(back->op())->seq(), 2u);
  for (Peer* p : {&alice, &bob}) {
    SyncScope(alice, *p, scope());
    SyncScope(carol, *p, scope());
    auto opened = (*p)->OpenBody(*back);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->tag_add().tag(), "back in the circle");
    EXPECT_EQ((*p)->OpenBody(*late).status().code(), Code::kPermissionDenied);
  }
}

}  // namespace
}  // namespace estelik::log
