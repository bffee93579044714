// What a dial round comes to (sync/orchestrator/outcome.h) and which contacts it tries
// (contact_choice.h), as `estelik sync` and estelik_sync_once report and choose them.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/log/op_log.h"
#include "sync/orchestrator/contact_choice.h"
#include "sync/orchestrator/outcome.h"

namespace estelik {
namespace {

using sync::DecideOutcome;
using sync::SessionEnd;
using sync::SyncOutcome;
using sync::net::ContactKey;

ContactKey Key(uint8_t first) {
  ContactKey key{};
  key.fill(0x11);
  key[0] = first;
  return key;
}

SessionEnd Closed(bool succeeded, const std::string& reason, uint64_t ops_received) {
  SessionEnd end;
  end.succeeded = succeeded;
  end.reason = reason;
  end.stats.ops_received = ops_received;
  return end;
}

TEST(OrchestratorOutcome, TheContactThatAnsweredAndSyncedIsSuccess) {
  const SyncOutcome out = DecideOutcome(Status::Ok(), Key(1), Closed(true, "done", 7));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.code, Code::kOk);
  EXPECT_EQ(out.reason, "done");
  EXPECT_EQ(out.stats.ops_received, 7u);
  ASSERT_TRUE(out.peer.has_value());
  EXPECT_EQ(*out.peer, Key(1));
  EXPECT_TRUE(sync::OutcomeStatus(out, "127.0.0.1:7420").ok());
}

TEST(OrchestratorOutcome, AFailedSessionOfTheAnsweringContactIsAProtocolFailure) {
  const SyncOutcome out = DecideOutcome(Status(Code::kProtocol, "session failed"), Key(1),
                                        Closed(false, "peer sent garbage", 3));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.code, Code::kProtocol);
  EXPECT_EQ(out.reason, "peer sent garbage");  // the session's reason, not the dial's
  EXPECT_EQ(out.stats.ops_received, 3u);
  const Status status = sync::OutcomeStatus(out, "10.0.0.2:7420");
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_EQ(status.message(), "sync with 10.0.0.2:7420 failed: peer sent garbage");
}

TEST(OrchestratorOutcome, WhenNobodyAnsweredTheDialDecides) {
  // A contact that did not answer closed a session too; it does not decide the outcome.
  const Status nobody(Code::kNotFound, "no contact answered at 127.0.0.1:7420 (tried 2 ...)");
  const SyncOutcome out = DecideOutcome(nobody, std::nullopt, Closed(false, "transport closed", 0));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.code, Code::kNotFound);
  EXPECT_EQ(out.reason, nobody.message());
  EXPECT_FALSE(out.peer.has_value());
  EXPECT_EQ(sync::OutcomeStatus(out, "h:1").code(), Code::kNotFound);

  const SyncOutcome unreachable =
      DecideOutcome(Status(Code::kIo, "connection refused"), std::nullopt, std::nullopt);
  EXPECT_EQ(unreachable.code, Code::kIo);
  EXPECT_EQ(unreachable.reason, "connection refused");
  EXPECT_EQ(unreachable.stats.wire_bytes_received, 0u);
}

TEST(OrchestratorOutcome, ARoundThatDialedNobody) {
  const SyncOutcome out = sync::FailedOutcome(Status(Code::kLocked, "vault is locked"));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.code, Code::kLocked);
  EXPECT_EQ(sync::OutcomeStatus(out, "h:1").message(), "sync with h:1 failed: vault is locked");
}

std::vector<log::Contact> Contacts() {
  std::vector<log::Contact> out(3);
  out[0].name = "Aigerim";
  out[0].public_key = Key(0xab);
  out[0].public_key[1] = 0xcd;  // "abcd..."
  out[1].name = "Bolat";
  out[1].public_key = Key(0xac);
  out[2].name = "abcd";  // a name that looks like a key prefix
  out[2].public_key = Key(0x01);
  return out;
}

TEST(OrchestratorContactChoice, ByNameFingerprintPrefixOrKey) {
  const auto contacts = Contacts();
  EXPECT_EQ(sync::MatchContacts(contacts, "Bolat"), std::vector<ContactKey>{Key(0xac)});
  EXPECT_EQ(sync::MatchContacts(contacts, estelik::Hex(contacts[0].public_key)),
            std::vector<ContactKey>{contacts[0].public_key});
  EXPECT_EQ(sync::MatchContacts(contacts, "AC1111"), std::vector<ContactKey>{Key(0xac)});
  // An exact name wins over a key prefix ("abcd" also starts Aigerim's key).
  EXPECT_EQ(sync::MatchContacts(contacts, "abcd"), std::vector<ContactKey>{Key(0x01)});
}

TEST(OrchestratorContactChoice, UnknownShortOrAmbiguous) {
  const auto contacts = Contacts();
  EXPECT_TRUE(sync::MatchContacts(contacts, "Nobody").empty());
  EXPECT_TRUE(sync::MatchContacts(contacts, "ab1").empty());    // under 4 hex digits
  EXPECT_TRUE(sync::MatchContacts(contacts, "bolat").empty());  // names are exact
  EXPECT_EQ(sync::MatchContacts(Contacts(), "").size(), 0u);
  std::vector<log::Contact> twins = Contacts();
  twins[1].name = "Aigerim";
  EXPECT_EQ(sync::MatchContacts(twins, "Aigerim").size(), 2u);
}

TEST(OrchestratorContactChoice, TheOneThatAnsweredLastGoesFirst) {
  const std::vector<ContactKey> keys = {Key(1), Key(2), Key(3)};
  EXPECT_EQ(sync::DialOrder(keys, std::nullopt), keys);
  EXPECT_EQ(sync::DialOrder(keys, Key(3)), (std::vector<ContactKey>{Key(3), Key(1), Key(2)}));
  EXPECT_EQ(sync::DialOrder(keys, Key(9)), keys);  // no longer a contact
}

}  // namespace
}  // namespace estelik
