// Evidence export and offline verification, as an investigator relies on them: a bundle
// verifies with nothing but itself, and any change to it (a flipped byte in any file, a
// dropped version, a swapped attachment, an added file, bodies swapped between ops) fails
// verification naming what is wrong.
#include "core/evidence/evidence.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/bytes.h"
#include "core/evidence/bundle.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"
#include "tests/unit/log/log_test_util.h"

namespace estelik::evidence {
namespace {

namespace fs = std::filesystem;
using archive::Archive;
using archive::testing::Deliver;
using archive::testing::DeliverChunks;
using archive::testing::Fast;
using estelik::testing::TempDir;

pb::TestimonyFields Fields(const std::string& title, const std::string& body) {
  pb::TestimonyFields f;
  f.set_title(title);
  f.set_body(body);
  f.set_language("kk");
  f.add_places("Жаңаөзен");
  return f;
}

std::string Pattern(size_t n, int mul) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * mul) % 251);
  return s;
}

void WriteFile(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool AnyProblemMentions(const Verdict& v, const std::string& text) {
  for (const auto& p : v.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string AllProblems(const Verdict& v) {
  std::string s;
  for (const auto& p : v.problems) s += "\n  " + p;
  return s;
}

// Every file below `root` as a path relative to it.
std::vector<std::string> BundleFiles(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& p : estelik::testing::ListFiles(root)) {
    out.push_back(fs::relative(p, root).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FilesUnder(const fs::path& root, const std::string& prefix,
                                    const std::string& suffix = "") {
  std::vector<std::string> out;
  for (const auto& f : BundleFiles(root)) {
    if (f.starts_with(prefix) && f.ends_with(suffix)) out.push_back(f);
  }
  return out;
}

std::string KeyString(const log::PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Archive::Create(tmp_.File("alia"), "alia's passphrase", Fast());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    alia_ = std::move(a).value();
  }

  // A testimony with three versions and two attachments.
  std::string RecordTestimony() {
    auto t = alia_->AddTestimony(Fields("Алаңда <b>", "Желтоқсанда атыс болды"), 1323561600000);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(alia_->EditTestimony(t->id(), Fields("Алаңда <b>", "Second telling")).ok());
    WriteFile(tmp_.path() / "interview.m4a", Pattern(150000, 131));
    WriteFile(tmp_.path() / "photo.jpg", Pattern(70000, 7));
    EXPECT_TRUE(alia_->AttachFile(t->id(), tmp_.File("interview.m4a"), {}, nullptr).ok());
    EXPECT_TRUE(alia_->AttachFile(t->id(), tmp_.File("photo.jpg"), {}, nullptr).ok());
    EXPECT_TRUE(alia_->EditTestimony(t->id(), Fields("Алаңда <b>", "Third telling")).ok());
    return t->id();
  }

  std::string Export(const std::string& id, const std::string& name = "bundle") {
    auto report = ExportBundle(*alia_, {id}, tmp_.File(name));
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return tmp_.File(name);
  }

  Verdict Verify(const std::string& path, const VerifyOptions& options = {}) {
    auto v = VerifyBundle(path, options);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : Verdict{};
  }

  // A fresh copy of `bundle` to tamper with.
  std::string Copy(const std::string& bundle, const std::string& name) {
    fs::path to = tmp_.path() / name;
    fs::remove_all(to);
    fs::copy(bundle, to, fs::copy_options::recursive);
    return to.string();
  }

  TempDir tmp_;
  std::unique_ptr<Archive> alia_;
};

TEST_F(EvidenceTest, TestimonyWithThreeVersionsAndTwoAttachmentsVerifiesOffline) {
  std::string id = RecordTestimony();
  auto report = ExportBundle(*alia_, {id}, tmp_.File("bundle"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->attachments, 2u);
  EXPECT_EQ(report->ops, 5u);  // create, 2 edits, 2 attachments
  alia_.reset();               // verification needs no vault

  Verdict v = Verify(tmp_.File("bundle"));
  EXPECT_TRUE(v.ok) << AllProblems(v);
  ASSERT_EQ(v.testimonies.size(), 1u);
  EXPECT_EQ(v.testimonies[0].id, id);
  EXPECT_EQ(v.testimonies[0].versions, 3u);
  EXPECT_EQ(v.testimonies[0].attachments, 2u);
  EXPECT_FALSE(v.testimonies[0].withdrawn);
  EXPECT_EQ(v.manifest_hash, report->manifest_hash);
  // The attachments are the plaintext files, byte for byte.
  std::vector<std::string> blobs = FilesUnder(tmp_.path() / "bundle", "attachments/");
  ASSERT_EQ(blobs.size(), 2u);
  std::set<std::string> contents;
  for (const auto& b : blobs)
    contents.insert(estelik::testing::ReadFileBytes(tmp_.path() / "bundle" / b));
  EXPECT_TRUE(contents.count(Pattern(150000, 131)));
  EXPECT_TRUE(contents.count(Pattern(70000, 7)));
}

TEST_F(EvidenceTest, CustodyReportShowsEveryVersionAndEscapesTestimonyTextInHtml) {
  auto t = alia_->AddTestimony(Fields("<script>alert(1)</script>", "a & b \"quoted\""));
  ASSERT_TRUE(t.ok());
  std::string bundle = Export(t->id());
  std::string html = estelik::testing::ReadFileBytes(fs::path(bundle) / "custody.html");
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b &quot;quoted&quot;"), std::string::npos);
  std::string json = estelik::testing::ReadFileBytes(fs::path(bundle) / "custody.json");
  EXPECT_NE(json.find("\"title\":\"<script>alert(1)</script>\""), std::string::npos);
  EXPECT_NE(json.find("\"recorded_unix_ms\""), std::string::npos);
  EXPECT_TRUE(Verify(bundle).ok);
}

TEST_F(EvidenceTest, FlippingAByteInAnyFileFailsNamingThatFile) {
  std::string bundle = Export(RecordTestimony());
  std::vector<std::string> files = BundleFiles(bundle);
  ASSERT_GT(files.size(), 12u);
  int copies = 0;
  for (const auto& f : files) {
    uint64_t size = fs::file_size(fs::path(bundle) / f);
    for (uint64_t at : {uint64_t{0}, size / 2, size - 1}) {
      std::string copy = Copy(bundle, "flip");
      std::string bytes = estelik::testing::ReadFileBytes(fs::path(copy) / f);
      bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
      WriteFile(fs::path(copy) / f, bytes);
      Verdict v = Verify(copy);
      EXPECT_FALSE(v.ok) << "flipping byte " << at << " of " << f << " was not detected";
      EXPECT_TRUE(AnyProblemMentions(v, f)) << f << " not named:" << AllProblems(v);
      ++copies;
    }
  }
  EXPECT_EQ(copies, static_cast<int>(files.size()) * 3);
}

// What an attacker holding a bundle can do without the exporter's key: delete files, edit
// the manifest to match, and sign it with a key of their own.
void DropAndReSign(const fs::path& bundle, const std::vector<std::string>& drop,
                   const log::Identity& attacker) {
  std::string manifest = estelik::testing::ReadFileBytes(bundle / internal::kManifestName);
  std::string out;
  size_t at = 0;
  while (at < manifest.size()) {
    size_t nl = manifest.find('\n', at);
    std::string line = manifest.substr(at, nl - at);
    at = nl + 1;
    bool dropped = false;
    for (const auto& d : drop) dropped = dropped || line.ends_with(" " + d);
    if (line.starts_with("exporter ")) {
      line = "exporter " + estelik::Hex(attacker.public_key());
    }
    if (!dropped) out += line + "\n";
  }
  for (const auto& d : drop) fs::remove(bundle / d);
  WriteFile(bundle / internal::kManifestName, out);
  std::string input(internal::kManifestSignContext);
  input += out;
  WriteFile(bundle / internal::kSignatureName,
            estelik::Hex(attacker.Sign(estelik::AsBytes(input))) + "\n");
}

TEST_F(EvidenceTest, DroppedVersionReSignedByAnotherKeyFails) {
  std::string bundle = Export(RecordTestimony());
  // Find version 2 (the first edit) among the ops.
  std::string stem;
  bool has_base_op = false;
  for (const auto& env_path : FilesUnder(bundle, "ops/", ".envelope")) {
    std::string s = env_path.substr(0, env_path.size() - 9);
    auto op = internal::RevealOp(estelik::testing::ReadFileBytes(fs::path(bundle) / env_path),
                                 estelik::testing::ReadFileBytes(fs::path(bundle) / (s + ".body")));
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    if (op->parsed.has_testimony_edit()) {
      if (op->parsed.testimony_edit().fields().body() == "Second telling") stem = s;
      has_base_op = has_base_op || !op->parsed.testimony_edit().base_op().empty();
    }
  }
  ASSERT_FALSE(stem.empty());
  auto attacker = log::Identity::FromSeed(log::testing::Seed(99));
  ASSERT_TRUE(attacker.ok());
  std::string forged = Copy(bundle, "forged");
  DropAndReSign(forged, {stem + ".envelope", stem + ".body"}, *attacker);

  Verdict v = Verify(forged);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(AnyProblemMentions(v, "not by its author")) << AllProblems(v);
  if (has_base_op) {  // edits name the version they were made from: the gap itself shows
    EXPECT_TRUE(AnyProblemMentions(v, "version 2: the version it was edited from"))
        << AllProblems(v);
  }
  // Naming the real exporter fails too; the untouched bundle passes that check.
  VerifyOptions expect_alia;
  expect_alia.expected_exporter = alia_->identity().public_key();
  EXPECT_TRUE(AnyProblemMentions(Verify(forged, expect_alia), "expected exporter"));
  EXPECT_TRUE(Verify(bundle, expect_alia).ok);
}

TEST_F(EvidenceTest, AttachmentSwappedForAnotherValidFileFails) {
  std::string bundle = Export(RecordTestimony());
  std::vector<std::string> blobs = FilesUnder(bundle, "attachments/");
  ASSERT_EQ(blobs.size(), 2u);
  std::string copy = Copy(bundle, "swapped");
  fs::copy_file(fs::path(bundle) / blobs[1], fs::path(copy) / blobs[0],
                fs::copy_options::overwrite_existing);
  Verdict v = Verify(copy);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(AnyProblemMentions(v, blobs[0] + ": attachment bytes do not match the content hash"))
      << AllProblems(v);
}

TEST_F(EvidenceTest, AddedFileFails) {
  std::string bundle = Export(RecordTestimony());
  for (const std::string extra : {"notes.txt", "ops/extra.envelope", "attachments/ab"}) {
    std::string copy = Copy(bundle, "extra");
    WriteFile(fs::path(copy) / extra, "hello");
    Verdict v = Verify(copy);
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(AnyProblemMentions(v, extra + ": file not listed in the manifest"))
        << AllProblems(v);
  }
  std::string copy = Copy(bundle, "extra_dir");
  fs::create_directory(fs::path(copy) / "hidden");
  EXPECT_TRUE(AnyProblemMentions(Verify(copy), "hidden: unexpected folder"));
}

TEST_F(EvidenceTest, BodiesSwappedBetweenOpsFail) {
  std::string bundle = Export(RecordTestimony());
  std::vector<std::string> bodies = FilesUnder(bundle, "ops/", ".body");
  ASSERT_GE(bodies.size(), 2u);
  std::string copy = Copy(bundle, "bodyswap");
  std::string a = estelik::testing::ReadFileBytes(fs::path(copy) / bodies[0]);
  std::string b = estelik::testing::ReadFileBytes(fs::path(copy) / bodies[1]);
  WriteFile(fs::path(copy) / bodies[0], b);
  WriteFile(fs::path(copy) / bodies[1], a);
  Verdict v = Verify(copy);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(AnyProblemMentions(v, "body does not match its signed commitment")) << AllProblems(v);
}

TEST_F(EvidenceTest, WithdrawnTestimonyExportsOnlyItsTombstone) {
  std::string id = RecordTestimony();
  auto other = alia_->AddTestimony(Fields("Another", "still here"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(alia_->Withdraw(id).ok());
  // The withdrawal (and any redaction of its ops) leaves other testimonies exportable.
  auto kept = ExportBundle(*alia_, {other->id()}, tmp_.File("other"));
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(Verify(tmp_.File("other")).ok);
  auto report = ExportBundle(*alia_, {id}, tmp_.File("bundle"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->ops, 1u);
  EXPECT_EQ(report->attachments, 0u);
  ASSERT_EQ(report->withdrawn.size(), 1u);
  Verdict v = Verify(tmp_.File("bundle"));
  EXPECT_TRUE(v.ok) << AllProblems(v);
  ASSERT_EQ(v.testimonies.size(), 1u);
  EXPECT_TRUE(v.testimonies[0].withdrawn);
  EXPECT_EQ(v.testimonies[0].versions, 0u);
  EXPECT_TRUE(FilesUnder(tmp_.File("bundle"), "attachments/").empty());
  for (const auto& f : BundleFiles(tmp_.File("bundle"))) {
    std::string bytes = estelik::testing::ReadFileBytes(fs::path(tmp_.File("bundle")) / f);
    for (const char* secret : {"Желтоқсанда", "Second telling", "Third telling"}) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << f << " reveals withdrawn content";
    }
  }
}

TEST_F(EvidenceTest, ExportRefusesAnExistingPathAndAnUnknownTestimony) {
  std::string id = RecordTestimony();
  fs::create_directory(tmp_.path() / "exists");
  EXPECT_EQ(ExportBundle(*alia_, {id}, tmp_.File("exists")).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ExportBundle(*alia_, {std::string(16, '\x42')}, tmp_.File("none")).status().code(),
            Code::kNotFound);
  EXPECT_FALSE(fs::exists(tmp_.path() / "none"));
  EXPECT_EQ(VerifyBundle(tmp_.File("nowhere")).status().code(), Code::kNotFound);
}

TEST(EvidenceLegacyTest, OpsWithoutBodyCommitmentAreRefusedNamingTheTestimony) {
  TempDir tmp;
  fs::copy(fs::path(ESTELIK_SOURCE_DIR) / "tests/fixtures/vault/v1", tmp.path() / "v1",
           fs::copy_options::recursive);
  auto a = Archive::Open(tmp.File("v1"), "estelik fixture vault v1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  pb::ListFilter filter;
  pb::PageRequest page;
  page.set_limit(10);
  auto list = (*a)->List(filter, page);
  ASSERT_TRUE(list.ok());
  ASSERT_GT(list->testimonies_size(), 0);
  const std::string id = list->testimonies(0).id();
  auto report = ExportBundle(**a, {id}, tmp.File("bundle"));
  EXPECT_EQ(report.status().code(), Code::kUnsupported);
  EXPECT_NE(report.status().message().find(estelik::Hex(id)), std::string::npos)
      << report.status().message();
  EXPECT_FALSE(fs::exists(tmp.path() / "bundle"));
}

// ---- A circle testimony exported by a member who is not its author ----

TEST_F(EvidenceTest, CircleTestimonyOfAnotherAuthorVerifiesOnceTheExporterIsNamed) {
  auto b = Archive::Create(tmp_.File("bolat"), "bolat's passphrase", Fast());
  ASSERT_TRUE(b.ok());
  std::unique_ptr<Archive> bolat = std::move(b).value();
  ASSERT_TRUE(alia_->AddContact(bolat->identity().public_key(), "Bolat").ok());
  auto circle = alia_->CreateCircle("Mangystau witnesses");
  ASSERT_TRUE(circle.ok());
  ASSERT_TRUE(alia_->AddCircleMember(*circle, bolat->identity().public_key()).ok());
  std::string id = RecordTestimony();
  ASSERT_TRUE(alia_->Share(id, *circle).ok());
  ASSERT_TRUE(alia_->EditTestimony(id, Fields("Алаңда <b>", "Told in the circle")).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat, *circle).ok());
  ASSERT_NO_FATAL_FAILURE(DeliverChunks(*alia_, *bolat, *circle));

  auto report = ExportBundle(*bolat, {id}, tmp_.File("bolat_bundle"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->attachments, 2u);

  Verdict unnamed = Verify(tmp_.File("bolat_bundle"));
  EXPECT_FALSE(unnamed.ok);
  EXPECT_TRUE(AnyProblemMentions(unnamed, "not by its author")) << AllProblems(unnamed);

  VerifyOptions named;
  named.expected_exporter = bolat->identity().public_key();
  Verdict v = Verify(tmp_.File("bolat_bundle"), named);
  EXPECT_TRUE(v.ok) << AllProblems(v);
  ASSERT_EQ(v.testimonies.size(), 1u);
  EXPECT_EQ(v.testimonies[0].author, KeyString(alia_->identity().public_key()));
  EXPECT_EQ(v.exporter, KeyString(bolat->identity().public_key()));
  EXPECT_EQ(v.testimonies[0].versions, 2u);  // the shared snapshot and the circle edit
  EXPECT_EQ(v.testimonies[0].attachments, 2u);
  EXPECT_NE(v.testimonies[0].exporter_note.find("not by its author"), std::string::npos);
}

// ---- The informer: a member's partial export of the author's testimony (issue #16 item 5) ----

// Alia records a testimony in the circle and corrects it; the correction reaches Bolat, a
// member. Bolat exports Alia's testimony without the correction, together with a testimony of
// her own (once enough for a VERIFIED verdict: she owned "a" testimony in the bundle), and
// signs the bundle with her own key, as a modified client would. Every op is authentic and
// every file matches the manifest: only the exporter rule stands between this bundle and a
// VERIFIED verdict that shows the retracted version as the author's last word.
class InformerTest : public EvidenceTest {
 protected:
  void SetUp() override {
    EvidenceTest::SetUp();
    auto b = Archive::Create(tmp_.File("bolat"), "bolat's passphrase", Fast());
    ASSERT_TRUE(b.ok());
    bolat_ = std::move(b).value();
    ASSERT_TRUE(alia_->AddContact(bolat_->identity().public_key(), "Bolat").ok());
    auto circle = alia_->CreateCircle("Mangystau witnesses");
    ASSERT_TRUE(circle.ok());
    ASSERT_TRUE(alia_->AddCircleMember(*circle, bolat_->identity().public_key()).ok());
    auto t = alia_->AddTestimony(Fields("Алаңда", "Soldiers fired first"), 1323561600000);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    alias_ = t->id();
    ASSERT_TRUE(alia_->Share(alias_, *circle).ok());
    ASSERT_TRUE(alia_
                    ->EditTestimony(alias_, Fields("Алаңда",
                                                   "Correction: police fired first, "
                                                   "soldiers came later"))
                    .ok());
    ASSERT_TRUE(Deliver(*alia_, *bolat_, *circle).ok());
    auto own = bolat_->AddTestimony(Fields("Менің куәлігім", "I was at the market"), 0);
    ASSERT_TRUE(own.ok()) << own.status().ToString();
    own_ = own->id();

    // Bolat holds the correction: her complete export would show both versions.
    auto full = ExportBundle(*bolat_, {alias_, own_}, tmp_.File("complete"));
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    internal::BundleInput partial;
    partial.testimony_ids = {std::min(alias_, own_), std::max(alias_, own_)};
    bool dropped = false;
    for (const auto& env_path : FilesUnder(tmp_.File("complete"), "ops/", ".envelope")) {
      fs::path stem = fs::path(tmp_.File("complete")) / env_path.substr(0, env_path.size() - 9);
      auto op = internal::RevealOp(estelik::testing::ReadFileBytes(stem.string() + ".envelope"),
                                   estelik::testing::ReadFileBytes(stem.string() + ".body"));
      ASSERT_TRUE(op.ok()) << op.status().ToString();
      if (op->parsed.has_testimony_edit() && internal::TestimonyIdOf(op->parsed) == alias_) {
        dropped = true;  // the correction
        continue;
      }
      partial.ops.push_back(std::move(op).value());
    }
    ASSERT_TRUE(dropped);
    auto written = internal::WriteBundle(partial, bolat_->identity(), tmp_.File("informer"), {});
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    informer_ = tmp_.File("informer");
  }

  std::unique_ptr<Archive> bolat_;
  std::string alias_;  // Alia's testimony
  std::string own_;    // Bolat's own
  std::string informer_;
};

TEST_F(InformerTest, PartialExportIsNotVerifiedWithoutNamingTheExporter) {
  Verdict v = Verify(informer_);
  EXPECT_FALSE(v.ok);
  // The one and only problem: who exported Alia's testimony. Bolat's own one is not flagged.
  ASSERT_EQ(v.problems.size(), 1u) << AllProblems(v);
  const std::string bolat_fp = log::Fingerprint(bolat_->identity().public_key());
  const std::string alia_fp = log::Fingerprint(alia_->identity().public_key());
  EXPECT_EQ(v.problems[0], "testimony " + estelik::Hex(alias_) + ": exported by " + bolat_fp +
                               ", not by its author " + alia_fp +
                               ": later corrections may be missing; to accept this exporter, "
                               "confirm that key out of band and name it as the expected "
                               "exporter");
  // Naming another key (Alia's: the investigator expected the author) fails too.
  VerifyOptions alia_named;
  alia_named.expected_exporter = alia_->identity().public_key();
  EXPECT_TRUE(AnyProblemMentions(Verify(informer_, alia_named), "not by the expected exporter"));
}

TEST_F(InformerTest, NamedExporterVerifiesButEachTestimonyNotByItsAuthorIsMarked) {
  VerifyOptions named;
  named.expected_exporter = bolat_->identity().public_key();
  Verdict v = Verify(informer_, named);
  EXPECT_TRUE(v.ok) << AllProblems(v);
  ASSERT_EQ(v.testimonies.size(), 2u);
  const std::string note =
      "exported by " + log::Fingerprint(bolat_->identity().public_key()) + ", not by its author " +
      log::Fingerprint(alia_->identity().public_key()) + ": later corrections may be missing";
  for (const VerdictTestimony& t : v.testimonies) {
    if (t.id == alias_) {
      EXPECT_EQ(t.exporter_note, note);
      EXPECT_EQ(t.versions, 1u);  // the correction is not there: the mark is all that warns
    } else {
      EXPECT_EQ(t.id, own_);
      EXPECT_EQ(t.exporter_note, "");
    }
  }
  // The custody report says it too, in both renderings, for Alia's testimony only.
  const std::string json =
      estelik::testing::ReadFileBytes(fs::path(informer_) / internal::kCustodyJsonName);
  EXPECT_NE(
      json.find("\"author\":{\"key\":\"" + estelik::Hex(alia_->identity().public_key()) + "\"," +
                "\"fingerprint\":\"" + log::Fingerprint(alia_->identity().public_key()) +
                "\"},\"exporter_note\":\"" + note + "\""),
      std::string::npos)
      << json;
  EXPECT_EQ(json.find("exporter_note"), json.rfind("exporter_note")) << json;
  const std::string html =
      estelik::testing::ReadFileBytes(fs::path(informer_) / internal::kCustodyHtmlName);
  EXPECT_NE(html.find("<strong>This testimony was " + note + ".</strong>"), std::string::npos)
      << html;
}

TEST_F(InformerTest, AuthorsOwnExportCarriesNoMark) {
  std::string bundle = Export(alias_, "alias_own");
  Verdict v = Verify(bundle);
  EXPECT_TRUE(v.ok) << AllProblems(v);
  ASSERT_EQ(v.testimonies.size(), 1u);
  EXPECT_EQ(v.testimonies[0].exporter_note, "");
  EXPECT_EQ(v.testimonies[0].versions, 3u);  // recorded, shared into the circle, corrected
  EXPECT_EQ(estelik::testing::ReadFileBytes(fs::path(bundle) / internal::kCustodyJsonName)
                .find("exporter_note"),
            std::string::npos);
}

// A bundle a member exported before exporter notes existed: the same bundle with custody.json
// and custody.html rendered without the note, the manifest re-hashed and signed by her. It still
// verifies once she is named, and the verdict marks the testimony all the same.
std::string BlakeHex(const std::string& bytes) {
  std::array<uint8_t, crypto_generichash_BYTES> h{};
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const uint8_t*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return estelik::Hex(h);
}

TEST_F(InformerTest, BundleWrittenBeforeExporterNotesVerifiesWhenNamedAndIsStillMarked) {
  const fs::path old = tmp_.File("before-notes");
  fs::copy(informer_, old, fs::copy_options::recursive);
  std::string json = estelik::testing::ReadFileBytes(old / internal::kCustodyJsonName);
  std::string html = estelik::testing::ReadFileBytes(old / internal::kCustodyHtmlName);
  const size_t key = json.find(",\"exporter_note\":\"");
  ASSERT_NE(key, std::string::npos);
  json.erase(key, json.find('"', key + 18) + 1 - key);
  const size_t para = html.find("<p><strong>This testimony was ");
  ASSERT_NE(para, std::string::npos);
  html.erase(para, html.find("</p>\n", para) + 5 - para);
  WriteFile(old / internal::kCustodyJsonName, json);
  WriteFile(old / internal::kCustodyHtmlName, html);
  std::string manifest = estelik::testing::ReadFileBytes(old / internal::kManifestName);
  std::string out;
  for (size_t at = 0; at < manifest.size();) {
    const size_t nl = manifest.find('\n', at);
    std::string line = manifest.substr(at, nl - at);
    at = nl + 1;
    for (const auto& [name, bytes] : {std::pair{std::string(internal::kCustodyJsonName), json},
                                      std::pair{std::string(internal::kCustodyHtmlName), html}}) {
      if (line.starts_with("file ") && line.ends_with(" " + name)) {
        line = "file " + BlakeHex(bytes) + " " + std::to_string(bytes.size()) + " " + name;
      }
    }
    out += line + "\n";
  }
  WriteFile(old / internal::kManifestName, out);
  WriteFile(old / internal::kSignatureName,
            estelik::Hex(bolat_->identity().Sign(
                estelik::AsBytes(std::string(internal::kManifestSignContext) + out))) +
                "\n");

  VerifyOptions named;
  named.expected_exporter = bolat_->identity().public_key();
  Verdict v = Verify(old.string(), named);
  EXPECT_TRUE(v.ok) << AllProblems(v);
  bool marked = false;
  for (const VerdictTestimony& t : v.testimonies)
    marked |= t.id == alias_ && !t.exporter_note.empty();
  EXPECT_TRUE(marked);
  EXPECT_FALSE(Verify(old.string()).ok);  // unnamed, it fails as before
}

// ---- The CLI, end to end (the built `estelik` binary) ----

int RunCli(const std::string& args, const std::string& out_file) {
  const std::string cli = std::string(ESTELIK_BINARY_DIR) + "/platform/cli/estelik";
  int rc =
      std::system((cli + " " + args + " > '" + out_file + "' 2> '" + out_file + ".err'").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(EvidenceTest, CliExportThenVerifyPrintsAVerdictAndFailsWithExitCode5OnTampering) {
  std::string id = RecordTestimony();
  alia_.reset();  // the CLI opens the vault itself
  ::setenv("ESTELIK_PASSPHRASE", "alia's passphrase", 1);
  const std::string log = tmp_.File("cli.out");
  ASSERT_EQ(RunCli("--vault '" + tmp_.File("alia") + "' export " + estelik::Hex(id).substr(0, 8) +
                       " --out '" + tmp_.File("cli_bundle") + "'",
                   log),
            0)
      << estelik::testing::ReadFileBytes(log + ".err");
  ::unsetenv("ESTELIK_PASSPHRASE");
  // verify needs no vault and no passphrase.
  ASSERT_EQ(RunCli("verify '" + tmp_.File("cli_bundle") + "'", log), 0)
      << estelik::testing::ReadFileBytes(log);
  EXPECT_TRUE(estelik::testing::ReadFileBytes(log).starts_with("VERIFIED: 1 testimony, 3 version"))
      << estelik::testing::ReadFileBytes(log);

  std::string custody = tmp_.File("cli_bundle") + "/custody.json";
  std::string bytes = estelik::testing::ReadFileBytes(custody);
  bytes[bytes.size() / 2] ^= 0x01;
  WriteFile(custody, bytes);
  EXPECT_EQ(RunCli("verify '" + tmp_.File("cli_bundle") + "'", log), 5);
  EXPECT_TRUE(estelik::testing::ReadFileBytes(log).starts_with("FAILED: custody.json"))
      << estelik::testing::ReadFileBytes(log);
}

TEST_F(InformerTest, CliSaysFailedWithExitCode5UnlessTheExporterIsNamedThenMarksTheTestimony) {
  const std::string log = tmp_.File("informer.out");
  ASSERT_EQ(RunCli("verify '" + informer_ + "'", log), 5);
  std::string out = estelik::testing::ReadFileBytes(log);
  EXPECT_TRUE(out.starts_with("FAILED: testimony " + estelik::Hex(alias_) + ": exported by "))
      << out;
  EXPECT_EQ(out.find("VERIFIED"), std::string::npos) << out;
  const std::string bolat_hex = estelik::Hex(bolat_->identity().public_key());
  EXPECT_NE(out.find("estelik verify BUNDLE --exporter " + bolat_hex), std::string::npos) << out;

  ASSERT_EQ(RunCli("verify '" + informer_ + "' --exporter " + bolat_hex, log), 0);
  out = estelik::testing::ReadFileBytes(log);
  EXPECT_TRUE(out.starts_with("VERIFIED: 2 testimonies")) << out;
  EXPECT_NE(out.find("testimony " + estelik::Hex(alias_) + "  author " +
                     log::Fingerprint(alia_->identity().public_key()) +
                     "  1 version(s), 0 attachment(s)\n  exported by " +
                     log::Fingerprint(bolat_->identity().public_key()) + ", not by its author "),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("--exporter"), std::string::npos) << out;
}

// ---- Format vector: fixed identity, nonces, clock and export time ----

// Pinned: a change is a bundle format change (docs/FORMAT.md "Evidence bundle").
constexpr char kVectorManifestHash[] =
    "dfa17cf17bb154b454551f51430b2ac4b8e52931dbf517534c8c0442e4d5a32a";

TEST(EvidenceVectorTest, FixedInputsGiveTheCheckedInManifest) {
  log::testing::Peer peer(1);
  uint8_t counter = 0;
  peer->SetNonceSourceForTesting([&](std::span<uint8_t> n) {
    for (auto& b : n) b = counter;
    ++counter;
  });
  const std::string id(16, '\x01');
  const std::string content = "fixed attachment bytes";
  std::vector<pb::OpBody> bodies(3);
  auto* c = bodies[0].mutable_testimony_create();
  c->set_testimony_id(id);
  c->mutable_fields()->set_language("kk");
  c->mutable_fields()->set_title("Zhanaozen 2011");
  c->mutable_fields()->set_body("test");
  c->set_recorded_unix_ms(1323561600000);
  auto* e = bodies[1].mutable_testimony_edit();
  e->set_testimony_id(id);
  e->mutable_fields()->set_language("kk");
  e->mutable_fields()->set_title("Zhanaozen 2011");
  e->mutable_fields()->set_body("test, corrected");
  pb::AttachmentInfo info;
  info.set_attachment_id(std::string(16, '\x05'));
  info.set_testimony_id(id);
  info.set_name("note.txt");
  info.set_media_type("text/plain");
  info.set_kind(pb::ATTACHMENT_KIND_DOCUMENT);
  info.set_size(content.size());
  info.set_chunk_size(65536);
  info.set_chunk_count(1);
  log::OpHash h = log::HashOpBytes(content);  // BLAKE2b-256, as the store defines content_hash
  info.set_content_hash(h.data(), h.size());
  *bodies[2].mutable_attachment_add()->mutable_info() = info;

  internal::BundleInput input;
  input.testimony_ids = {id};
  uint64_t wall = 1700000000000;
  for (const auto& body : bodies) {
    auto env = peer->Append(body, log::Scope::Private(), wall += 1000);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    std::string plain;
    ASSERT_TRUE(peer->OpenBody(*env, &plain).ok());
    auto op = internal::RevealOp(env->SerializeAsString(), plain);
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    input.ops.push_back(std::move(op).value());
  }
  internal::AttachmentSource source;
  source.info = info;
  source.produce = [&](const internal::ChunkSink& sink) { return sink(estelik::AsBytes(content)); };
  input.attachments.push_back(source);
  ExportOptions options;
  options.export_unix_ms = 1700000100000;

  TempDir tmp;
  auto report = internal::WriteBundle(input, peer->identity(), tmp.File("vector"), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::string manifest = estelik::testing::ReadFileBytes(tmp.path() / "vector" / "MANIFEST");
  EXPECT_EQ(estelik::Hex(log::HashOpBytes(manifest)), kVectorManifestHash) << manifest;
  EXPECT_EQ(report->manifest_hash, kVectorManifestHash);
  Verdict v = *VerifyBundle(tmp.File("vector"));
  EXPECT_TRUE(v.ok) << AllProblems(v);
  EXPECT_EQ(v.versions, 2u);
}

TEST(EvidenceVectorTest, EditNamingAMissingBaseVersionFailsEvenWhenTheAuthorSigns) {
  log::testing::Peer peer(2);
  const std::string id(16, '\x02');
  pb::OpBody create;
  create.mutable_testimony_create()->set_testimony_id(id);
  create.mutable_testimony_create()->mutable_fields()->set_body("v1");
  auto e1 = peer->Append(create, log::Scope::Private(), 1700000000000);
  ASSERT_TRUE(e1.ok());
  pb::OpBody edit;
  edit.mutable_testimony_edit()->set_testimony_id(id);
  edit.mutable_testimony_edit()->mutable_fields()->set_body("v2");
  log::OpHash h1 = log::HashOpBytes(e1->op());
  edit.mutable_testimony_edit()->set_base_op(h1.data(), h1.size());
  auto e2 = peer->Append(edit, log::Scope::Private(), 1700000001000);
  ASSERT_TRUE(e2.ok());
  pb::OpBody edit3 = edit;
  edit3.mutable_testimony_edit()->mutable_fields()->set_body("v3");
  log::OpHash h2 = log::HashOpBytes(e2->op());
  edit3.mutable_testimony_edit()->set_base_op(h2.data(), h2.size());
  auto e3 = peer->Append(edit3, log::Scope::Private(), 1700000002000);
  ASSERT_TRUE(e3.ok());

  internal::BundleInput input;
  input.testimony_ids = {id};
  for (const auto* env : {&*e1, &*e3}) {  // version 2 dropped
    std::string plain;
    ASSERT_TRUE(peer->OpenBody(*env, &plain).ok());
    auto op = internal::RevealOp(env->SerializeAsString(), plain);
    ASSERT_TRUE(op.ok());
    input.ops.push_back(std::move(op).value());
  }
  TempDir tmp;
  // The writer refuses: such a bundle cannot verify.
  auto refused = internal::WriteBundle(input, peer->identity(), tmp.File("b"), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("version 2: the version it was edited from"),
            std::string::npos)
      << refused.status().message();
  // And the verifier names the gap when handed the ops directly.
  internal::Custody c =
      internal::BuildCustody(input.testimony_ids, input.ops, KeyString(peer.key()), 0);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("is missing"), std::string::npos);
}

}  // namespace
}  // namespace estelik::evidence
