// Helpers shared by the archive tests: fast vaults, simple fields, and moving a circle's ops
// and chunks from one Archive to another the way a sync session would (without the network).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"

namespace estelik::archive::testing {

inline vault::VaultOptions Fast() {
  vault::VaultOptions o;
  o.kdf = vault::MinimalKdfParams();
  return o;
}

inline pb::TestimonyFields Fields(const std::string& title, const std::string& body) {
  pb::TestimonyFields f;
  f.set_title(title);
  f.set_body(body);
  f.set_language("en");
  return f;
}

// Hands `to` every op of `circle` that `from` holds and `to` lacks, as a sync session would.
inline Result<Archive::ReceiveReport> Deliver(Archive& from, Archive& to,
                                              const std::string& circle) {
  auto theirs = to.Versions(circle);
  log::VersionVector vv = theirs.ok() ? *theirs : log::VersionVector{};
  ESTELIK_ASSIGN_OR_RETURN(auto ops, from.OpsAfter(circle, vv, 100000));
  return to.ReceiveOps(circle, ops);
}

// Copies every chunk `to` is missing of `circle`'s attachments from `from`.
inline void DeliverChunks(Archive& from, Archive& to, const std::string& circle) {
  auto wanted = to.CircleAttachments(circle);
  ASSERT_TRUE(wanted.ok()) << wanted.status().ToString();
  for (const auto& info : *wanted) {
    auto missing = to.MissingChunks(info.attachment_id());
    ASSERT_TRUE(missing.ok());
    for (uint64_t i : *missing) {
      auto sealed = from.GetSealedChunk(info.attachment_id(), i);
      ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
      ASSERT_TRUE(to.PutChunk(info.attachment_id(), i, *sealed).ok());
    }
  }
}

// About `bytes` of word-like text that compresses poorly (so a small op is small because of
// a text delta, not because the text repeats).
inline std::string Prose(size_t bytes, uint32_t seed) {
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
  std::string out;
  uint32_t x = seed;
  while (out.size() < bytes) {
    x = x * 1664525u + 1013904223u;
    size_t word = 2 + (x >> 28) % 9;
    for (size_t i = 0; i < word; ++i) {
      x = x * 1664525u + 1013904223u;
      out += kLetters[(x >> 24) % 26];
    }
    out += " ";
  }
  return out;
}

// Alia and Bolat, each a contact of the other; Alia administers a circle Bolat is in.
class AliaAndBolat : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Archive::Create(tmp_.File("alia"), "alia's passphrase", Fast());
    auto b = Archive::Create(tmp_.File("bolat"), "bolat's passphrase", Fast());
    ASSERT_TRUE(a.ok() && b.ok());
    alia_ = std::move(a).value();
    bolat_ = std::move(b).value();
    ASSERT_TRUE(alia_->AddContact(bolat_->identity().public_key(), "Bolat").ok());
    ASSERT_TRUE(bolat_->AddContact(alia_->identity().public_key(), "Alia").ok());
    auto circle = alia_->CreateCircle("Mangystau witnesses");
    ASSERT_TRUE(circle.ok()) << circle.status().ToString();
    circle_ = *circle;
    ASSERT_TRUE(alia_->AddCircleMember(circle_, bolat_->identity().public_key()).ok());
  }

  estelik::testing::TempDir tmp_;
  std::unique_ptr<Archive> alia_;
  std::unique_ptr<Archive> bolat_;
  std::string circle_;
};

// Alia administers a circle ("Zhanaozen witnesses") that Bolat and Chingiz are in from the
// start; every further archive named in SetUpCircle is a contact of Alia's she may add later.
class AliasCircle : public ::testing::Test {
 protected:
  // Creates the archives `names` (Alia, Bolat, Chingiz first) and the circle.
  void SetUpCircle(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      auto a = Archive::Create(tmp_.File(name), name + "'s passphrase", Fast());
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      members_.push_back(std::move(a).value());
    }
    for (size_t i = 1; i < members_.size(); ++i) {
      ASSERT_TRUE(alia().AddContact(members_[i]->identity().public_key(), "member").ok());
    }
    auto circle = alia().CreateCircle("Zhanaozen witnesses");
    ASSERT_TRUE(circle.ok()) << circle.status().ToString();
    circle_ = *circle;
    ASSERT_TRUE(alia().AddCircleMember(circle_, bolat().identity().public_key()).ok());
    ASSERT_TRUE(alia().AddCircleMember(circle_, chingiz().identity().public_key()).ok());
  }

  Archive& alia() { return *members_[0]; }
  Archive& bolat() { return *members_[1]; }
  Archive& chingiz() { return *members_[2]; }

  // A testimony `author` records straight into the circle; its id ("" on failure).
  std::string CircleTestimony(Archive& author, const std::string& title, const std::string& body) {
    pb::TestimonyFields f = Fields(title, body);
    f.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
    f.set_circle_id(circle_);
    auto t = author.AddTestimony(f);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->id() : "";
  }

  void ExpectRebuildKeepsState(Archive& a) {
    auto report = a.Rebuild();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->before, report->after);
  }

  estelik::testing::TempDir tmp_;
  std::vector<std::unique_ptr<Archive>> members_;
  std::string circle_;
};

}  // namespace estelik::archive::testing
