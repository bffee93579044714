// Evidence of testimonies whose edits carry only the changed text: the custody report shows
// the full text of every version (each delta applied to the version it was made from), the
// bundle verifies offline, and a bundle without the version a delta was made from reports it
// instead of showing text the author never signed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/archive/text_delta.h"
#include "core/bytes.h"
#include "core/evidence/bundle.h"
#include "core/evidence/evidence.h"
#include "core/json.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"
#include "tests/unit/log/log_test_util.h"

namespace estelik::evidence {
namespace {

namespace fs = std::filesystem;
using archive::Archive;
using archive::testing::Deliver;
using archive::testing::Fast;
using estelik::testing::ReadFileBytes;
using estelik::testing::TempDir;

pb::TestimonyFields Fields(const std::string& body) {
  pb::TestimonyFields f;
  f.set_title("Жаңаөзен 2011");
  f.set_body(body);
  f.set_language("kk");
  return f;
}

// About `bytes` of text that does not repeat itself.
std::string Prose(size_t bytes, uint32_t seed) {
  std::string out = "Алаңда ";
  uint32_t x = seed;
  while (out.size() < bytes) {
    x = x * 1664525u + 1013904223u;
    out += static_cast<char>('a' + (x >> 24) % 26);
    if ((x & 0x7000) == 0) out += ' ';
  }
  return out;
}

std::string AllProblems(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += "\n  " + p;
  return s;
}

bool AnyMentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

void WriteFile(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every op of a bundle, revealed.
std::vector<internal::RevealedOp> BundleOps(const fs::path& bundle) {
  std::vector<internal::RevealedOp> ops;
  for (const auto& p : estelik::testing::ListFiles(bundle / "ops")) {
    if (p.extension() != ".envelope") continue;
    fs::path body = p;
    body.replace_extension(".body");
    auto op = internal::RevealOp(ReadFileBytes(p), ReadFileBytes(body));
    EXPECT_TRUE(op.ok()) << op.status().ToString();
    if (op.ok()) ops.push_back(std::move(op).value());
  }
  return ops;
}

size_t DeltaEdits(const std::vector<internal::RevealedOp>& ops) {
  size_t n = 0;
  for (const auto& op : ops) n += op.parsed.testimony_edit().has_body_delta() ? 1 : 0;
  return n;
}

TEST(EvidenceDeltaTest, DeltaEditsVerifyAndCustodyShowsTheFullTextOfEveryVersion) {
  TempDir tmp;
  auto alia = Archive::Create(tmp.File("alia"), "alia's passphrase", Fast());
  auto bolat = Archive::Create(tmp.File("bolat"), "bolat's passphrase", Fast());
  ASSERT_TRUE(alia.ok() && bolat.ok());
  ASSERT_TRUE((*alia)->AddContact((*bolat)->identity().public_key(), "Bolat").ok());
  auto circle = (*alia)->CreateCircle("witnesses");
  ASSERT_TRUE(circle.ok());
  ASSERT_TRUE((*alia)->AddCircleMember(*circle, (*bolat)->identity().public_key()).ok());

  // Private edits, the share (its private decision), then circle edits.
  std::vector<std::string> bodies = {Prose(3000, 1)};
  auto t = (*alia)->AddTestimony(Fields(bodies[0]));
  ASSERT_TRUE(t.ok());
  bodies.push_back(bodies.back() + " Кейін жарық сөнді.");
  bodies.push_back(bodies.back().substr(0, 1000) + " (corrected) " + bodies.back().substr(1000));
  for (size_t i = 1; i < bodies.size(); ++i) {
    ASSERT_TRUE((*alia)->EditTestimony(t->id(), Fields(bodies[i])).ok());
  }
  ASSERT_TRUE((*alia)->Share(t->id(), *circle).ok());
  const size_t shared_at = bodies.size() - 1;
  bodies.push_back("16 желтоқсан. " + bodies.back());
  ASSERT_TRUE((*alia)->EditTestimony(t->id(), Fields(bodies.back())).ok());
  bodies.push_back(bodies.back() + " The end.");
  ASSERT_TRUE((*alia)->EditTestimony(t->id(), Fields(bodies.back())).ok());
  ASSERT_TRUE(Deliver(**alia, **bolat, *circle).ok());

  // The author's bundle holds every version; a member's, the share and the circle edits.
  struct Case {
    Archive* archive;
    std::string name;
    std::vector<std::string> versions;  // the texts custody must show, in order
  };
  std::vector<Case> cases = {
      {alia->get(), "alia_bundle", bodies},
      {bolat->get(), "bolat_bundle",
       std::vector<std::string>(bodies.begin() + static_cast<ptrdiff_t>(shared_at), bodies.end())},
  };
  // Alia's share decision is a version of its own (same text as the one before).
  cases[0].versions.insert(cases[0].versions.begin() + static_cast<ptrdiff_t>(shared_at + 1),
                           bodies[shared_at]);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto report = ExportBundle(*c.archive, {t->id()}, tmp.File(c.name));
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    std::vector<internal::RevealedOp> ops = BundleOps(tmp.File(c.name));
    EXPECT_GE(DeltaEdits(ops), 2u);  // the edits really travel as deltas

    VerifyOptions options;  // a member exports too; the verifier names whom it expects
    options.expected_exporter = c.archive->identity().public_key();
    auto v = VerifyBundle(tmp.File(c.name), options);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok) << AllProblems(v->problems);
    ASSERT_EQ(v->testimonies.size(), 1u);
    EXPECT_EQ(v->testimonies[0].versions, c.versions.size());

    internal::Custody custody = internal::BuildCustody({t->id()}, ops, std::string(), 0);
    ASSERT_EQ(custody.testimonies.size(), 1u);
    const auto& versions = custody.testimonies[0].versions;
    ASSERT_EQ(versions.size(), c.versions.size());
    for (size_t i = 0; i < versions.size(); ++i) {
      EXPECT_EQ(versions[i].fields.body(), c.versions[i]) << "version " << i + 1;
      EXPECT_EQ(versions[i].fields.title(), "Жаңаөзен 2011");
    }
    // And the reports an investigator reads say the same.
    std::string json = ReadFileBytes(fs::path(tmp.File(c.name)) / "custody.json");
    for (const std::string& body : c.versions) {
      EXPECT_NE(json.find("\"body\":" + JsonQuote(body)), std::string::npos);
    }
  }
}

// Builds a create and two delta edits signed by one author, as RevealedOps.
class DeltaChain : public ::testing::Test {
 protected:
  void SetUp() override {
    bodies_ = {Prose(2000, 5)};
    bodies_.push_back(bodies_[0] + " second");
    bodies_.push_back("Third: " + bodies_[1]);
    pb::OpBody create;
    create.mutable_testimony_create()->set_testimony_id(id_);
    *create.mutable_testimony_create()->mutable_fields() = Fields(bodies_[0]);
    Add(create);
    for (size_t i = 1; i < bodies_.size(); ++i) {
      pb::OpBody edit;
      auto* e = edit.mutable_testimony_edit();
      e->set_testimony_id(id_);
      e->set_base_op(ops_.back().hash.data(), ops_.back().hash.size());
      *e->mutable_fields() = Fields("");
      auto delta = archive::MakeTextDelta(bodies_[i - 1], bodies_[i]);
      ASSERT_TRUE(delta.has_value());
      *e->mutable_body_delta() = *delta;
      Add(edit);
    }
  }

  void Add(const pb::OpBody& body) {
    auto env = peer_->Append(body, log::Scope::Private(), wall_ += 1000);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    std::string plain;
    ASSERT_TRUE(peer_->OpenBody(*env, &plain).ok());
    auto op = internal::RevealOp(env->SerializeAsString(), plain);
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    ops_.push_back(std::move(op).value());
  }

  internal::Custody Build(const std::vector<internal::RevealedOp>& ops) {
    return internal::BuildCustody({id_}, ops, std::string(), 0);
  }

  log::testing::Peer peer_{3};
  const std::string id_ = std::string(16, '\x03');
  uint64_t wall_ = 1700000000000;
  std::vector<std::string> bodies_;
  std::vector<internal::RevealedOp> ops_;
  TempDir tmp_;
};

TEST_F(DeltaChain, EveryVersionIsShownInFullWhenTheChainIsComplete) {
  internal::Custody c = Build(ops_);
  EXPECT_TRUE(c.problems.empty()) << AllProblems(c.problems);
  ASSERT_EQ(c.testimonies[0].versions.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(c.testimonies[0].versions[i].fields.body(), bodies_[i]);
  auto written = internal::WriteBundle({{id_}, ops_, {}}, peer_->identity(), tmp_.File("b"), {});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto v = VerifyBundle(tmp_.File("b"));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << AllProblems(v->problems);
}

TEST_F(DeltaChain, WithoutTheBaseVersionADeltaEditIsReportedAndNoTextIsInvented) {
  std::vector<internal::RevealedOp> dropped = {ops_[0], ops_[2]};  // version 2 left out
  internal::Custody c = Build(dropped);
  EXPECT_TRUE(AnyMentions(c.problems, "version 2: the version it was edited from"))
      << AllProblems(c.problems);
  EXPECT_TRUE(AnyMentions(c.problems, "cannot be shown")) << AllProblems(c.problems);
  ASSERT_EQ(c.testimonies[0].versions.size(), 2u);
  EXPECT_EQ(c.testimonies[0].versions[1].fields.body(), "");
  // The writer refuses such a bundle; the exporter cannot hand it out by mistake.
  auto refused = internal::WriteBundle({{id_}, dropped, {}}, peer_->identity(), tmp_.File("b"), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cannot be shown"), std::string::npos)
      << refused.status().message();
}

TEST_F(DeltaChain, ABundleWithTheBaseVersionDroppedAndReSignedFailsVerification) {
  auto written = internal::WriteBundle({{id_}, ops_, {}}, peer_->identity(), tmp_.File("b"), {});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  // The exporter (with their own key) drops version 2's op and re-signs the manifest.
  const fs::path bundle = tmp_.path() / "b";
  const std::string stem = internal::OpEnvelopePath(ops_[1].hash);
  const std::string body_path = internal::OpBodyPath(ops_[1].hash);
  std::string manifest = ReadFileBytes(bundle / internal::kManifestName);
  std::string out;
  for (size_t at = 0; at < manifest.size();) {
    size_t nl = manifest.find('\n', at);
    std::string line = manifest.substr(at, nl - at);
    at = nl + 1;
    if (!line.ends_with(" " + stem) && !line.ends_with(" " + body_path)) out += line + "\n";
  }
  fs::remove(bundle / stem);
  fs::remove(bundle / body_path);
  WriteFile(bundle / internal::kManifestName, out);
  std::string input(internal::kManifestSignContext);
  input += out;
  WriteFile(bundle / internal::kSignatureName,
            estelik::Hex(peer_->identity().Sign(estelik::AsBytes(input))) + "\n");

  auto v = VerifyBundle(bundle.string());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->ok);
  EXPECT_TRUE(AnyMentions(v->problems, "cannot be shown")) << AllProblems(v->problems);
}

TEST_F(DeltaChain, ADeltaSignedAgainstOtherTextIsReportedNamingTheOp) {
  pb::OpBody forged;
  auto* e = forged.mutable_testimony_edit();
  e->set_testimony_id(id_);
  e->set_base_op(ops_.back().hash.data(), ops_.back().hash.size());
  *e->mutable_fields() = Fields("");
  *e->mutable_body_delta() = archive::MakeTextDelta(bodies_[0], bodies_[0] + " forged").value();
  Add(forged);
  internal::Custody c = Build(ops_);
  ASSERT_EQ(c.problems.size(), 1u) << AllProblems(c.problems);
  EXPECT_NE(c.problems[0].find(internal::OpEnvelopePath(ops_.back().hash) + ": edit of testimony " +
                               estelik::Hex(id_) +
                               ": its text delta does not apply to the version it was made from"),
            std::string::npos)
      << c.problems[0];
  EXPECT_EQ(c.testimonies[0].versions.back().fields.body(), "");
}

}  // namespace
}  // namespace estelik::evidence
