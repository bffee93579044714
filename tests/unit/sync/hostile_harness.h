// ReplicationHostile: a hostile contact at the replication layer. Mallory completes a genuine
// handshake with the victim's ReplicationSession (she is a contact) through her own
// SecureChannel, and then sends hand-made replication messages; the fixture pumps bytes both
// ways and keeps every message the victim sent her. Used by the replication_*_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tests/unit/sync/sim_link.h"

namespace estelik::testing {

class ReplicationHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    victim_ = MakeSimPeer("vika");
    mallory_ = MakeSimPeer("mallory");
    carol_ = MakeSimPeer("carol");
    ASSERT_TRUE(victim_ && mallory_ && carol_);
    Befriend(*victim_, *mallory_);
    Befriend(*victim_, *carol_);
    std::vector<SimPeer*> all = {victim_.get(), mallory_.get(), carol_.get()};
    ours_ = MakeCircle(*mallory_, {victim_.get()}, all);  // mallory and victim
    others_ = MakeCircle(*carol_, {victim_.get()}, all);  // carol and victim only
    ASSERT_TRUE(SyncPeers(*mallory_, *victim_).a_ok);
    ASSERT_TRUE(Post(*carol_, others_, 2).ok());
    ASSERT_TRUE(SyncPeers(*carol_, *victim_).a_ok);
    ASSERT_TRUE(Post(*mallory_, ours_, 40).ok());
    // Mallory's ops the victim does not have yet, in seq order.
    auto vv = victim_->archive->Versions(ours_);
    ASSERT_TRUE(vv.ok());
    auto fresh = mallory_->archive->OpsAfter(ours_, *vv, 1000);
    ASSERT_TRUE(fresh.ok());
    fresh_ = *fresh;
    ASSERT_EQ(fresh_.size(), 40u);
  }

  // Opens a session on the victim and completes the handshake and Hellos as Mallory.
  void Connect(const sync::ReplicationLimits& limits = {}, bool send_hello = true) {
    OpenSession(limits);
    if (HasFatalFailure()) return;
    Pump();
    ASSERT_TRUE(channel_->is_open());
    ASSERT_FALSE(received_.empty());
    ASSERT_TRUE(received_[0].has_hello());
    if (send_hello) {
      pb::ReplicationMessage hello;
      hello.mutable_hello()->set_version(1);
      // Claims to hold nothing, so the victim's own sending is small and predictable.
      Send(hello);
    }
    before_ = Snap();
  }

  // Opens a session on the victim and Mallory's channel to it, which nothing has pumped yet.
  void OpenSession(const sync::ReplicationLimits& limits = {}) {
    sync::ReplicationConfig config;
    config.network_key = SimNetworkKey();
    config.limits = limits;
    config.deflate = victim_deflate_;
    auto session = sync::ReplicationSession::Create(*victim_->replica, std::move(config));
    ASSERT_TRUE(session.ok());
    session_ = std::move(*session);
    sync::SecureChannelConfig channel;
    channel.initiator = true;
    channel.expected_peer = victim_->key();
    channel.identity_secret_key = mallory_->replica->IdentitySecretKey();
    channel.network_key = SimNetworkKey();
    channel.is_contact = [](const sync::Ed25519PublicKey&) { return true; };
    channel.capabilities = mallory_capabilities_;
    channel.limits.max_message_size = mallory_max_message_size_;
    auto created = sync::SecureChannel::Create(std::move(channel));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    channel_.emplace(std::move(*created));
  }

  Snapshot Snap() { return TakeSnapshot(*victim_, {ours_, others_}); }

  void Pump() {
    for (int i = 0; i < 10'000; ++i) {
      bool moved = false;
      now_ += 10;
      std::vector<uint8_t> out = channel_->TakeOutput();
      if (!out.empty()) {
        session_->Feed(out, now_);
        moved = true;
      }
      std::span<const uint8_t> pending = session_->PendingOutput();
      if (!pending.empty()) {
        std::vector<uint8_t> copy(pending.begin(), pending.end());
        session_->ConsumeOutput(copy.size());
        (void)channel_->Feed(copy);
        moved = true;
      }
      for (sync::ChannelEvent& event : channel_->TakeEvents()) {
        if (event.kind != sync::ChannelEvent::Kind::kMessage) continue;
        pb::ReplicationMessage message;
        if (message.ParseFromArray(event.message.data(), static_cast<int>(event.message.size())))
          received_.push_back(std::move(message));
      }
      if (!moved) break;
    }
  }

  void SendRaw(std::span<const uint8_t> bytes) {
    ASSERT_TRUE(channel_->Send(bytes).ok());
    Pump();
  }
  void Send(const pb::ReplicationMessage& message) {
    std::string bytes = message.SerializeAsString();
    SendRaw({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  pb::ReplicationMessage Batch(const std::string& circle, const std::vector<pb::Envelope>& ops) {
    pb::ReplicationMessage message;
    message.mutable_op_batch()->set_circle_id(circle);
    for (const auto& op : ops) *message.mutable_op_batch()->add_envelopes() = op;
    return message;
  }
  std::vector<pb::Envelope> Fresh(size_t from, size_t count) {
    return {fresh_.begin() + static_cast<ptrdiff_t>(from),
            fresh_.begin() + static_cast<ptrdiff_t>(from + count)};
  }
  void ExpectClosedWithoutPeerNotice(const std::string& words) {
    EXPECT_TRUE(session_->closed());
    EXPECT_FALSE(session_->succeeded());
    EXPECT_NE(session_->close_reason().find(words), std::string::npos)
        << "reason: " << session_->close_reason();
  }
  void ExpectClosedWith(const std::string& words) {
    EXPECT_TRUE(session_->closed());
    EXPECT_FALSE(session_->succeeded());
    EXPECT_NE(session_->close_reason().find(words), std::string::npos)
        << "reason: " << session_->close_reason();
    // Mallory is told why.
    EXPECT_TRUE(channel_->is_closed());
  }

  // Set before Connect(): what Mallory's channel advertises, and whether the victim offers
  // deflate/1.
  std::vector<std::string> mallory_capabilities_;
  size_t mallory_max_message_size_ = size_t{4} << 20;
  bool victim_deflate_ = true;

  std::unique_ptr<SimPeer> victim_, mallory_, carol_;
  std::string ours_, others_;
  std::vector<pb::Envelope> fresh_;
  std::unique_ptr<sync::ReplicationSession> session_;
  std::optional<sync::SecureChannel> channel_;
  std::vector<pb::ReplicationMessage> received_;
  Snapshot before_;
  uint64_t now_ = 5'000'000;
};

}  // namespace estelik::testing
