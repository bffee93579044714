// The estelik command as scripts and people use it: a real binary in a real process, a real
// vault on disk, the passphrase from the environment.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/command.h"
#include "tests/support/damage.h"
#include "tests/support/temp_dir.h"

namespace estelik {
namespace {

namespace fs = std::filesystem;
using testing::ListFiles;
using testing::ReadFileBytes;
using testing::TempDir;

const std::string kEstelik = ESTELIK_BINARY_DIR "/platform/cli/estelik";

using CliRun = testing::CommandRun;  // stdout and stderr together
std::string Quote(const std::string& s) { return testing::ShellQuote(s); }

class CliTest : public ::testing::Test {
 protected:
  CliRun Estelik(const std::string& args, const std::string& passphrase = "cli test passphrase",
                 const std::string& extra_env = "") {
    std::string vault_flag = vault_.empty() ? "" : " --vault " + Quote(vault_);
    std::string cmd = "ESTELIK_PASSPHRASE=" + Quote(passphrase) + " " + extra_env + " " +
                      Quote(kEstelik) + vault_flag + " " + args + " 2>&1 </dev/null";
    return testing::RunCommand(cmd);
  }

  // Adds a testimony and returns its full id.
  std::string Add(const std::string& args) {
    CliRun r = Estelik("add " + args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.size(), 32u) << r.out;
    return id;
  }

  void SetUp() override {
    vault_ = tmp_.File("vault");
    CliRun r = Estelik("init --kdf interactive");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  TempDir tmp_;
  std::string vault_;
};

TEST_F(CliTest, AddedTestimonyIsListedAndShownWithItsFields) {
  std::string id =
      Add("--title 'In the square' --body 'We heard shots at noon' --lang en --tag strike "
          "--place Zhanaozen --event-date 2011-12-16");
  CliRun list = Estelik("list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(id.substr(0, 12)), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("In the square"), std::string::npos);
  CliRun show = Estelik("--json show " + id.substr(0, 8));
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("\"body\":\"We heard shots at noon\""), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"places\":[\"Zhanaozen\"]"), std::string::npos);
  EXPECT_NE(show.out.find("\"event_from\":\"2011-12-16\""), std::string::npos);
}

TEST_F(CliTest, BodyFileAndVaultFromTheEnvironmentWork) {
  std::string body_file = tmp_.File("body.txt");
  std::ofstream(body_file) << "Мен Ақтауда тұрамын.\n";
  std::string cmd_vault = vault_;
  vault_ = "";  // no --vault flag: ESTELIK_VAULT below names the vault
  CliRun r = Estelik("add --title T --body-file " + Quote(body_file), "cli test passphrase",
                     "ESTELIK_VAULT=" + Quote(cmd_vault));
  vault_ = cmd_vault;
  ASSERT_EQ(r.exit_code, 0) << r.out;
  CliRun show = Estelik("show " + r.out.substr(0, 32));
  EXPECT_NE(show.out.find("Мен Ақтауда тұрамын."), std::string::npos) << show.out;
}

TEST_F(CliTest, SearchFindsEverySpellingOfANameWithHighlights) {
  Add("--title A --lang kk --body 'Жаңаөзен алаңында'");
  Add("--title B --lang ru --body 'На площади Жанаозен'");
  Add("--title C --lang en --body 'The square of Zhanaozen'");
  Add("--title D --lang kk-Latn --body 'Jañaözen alañynda'");
  Add("--title E --lang en --body 'Nothing about that town'");
  for (const char* q : {"Жаңаөзен", "Жанаозен", "Zhanaozen", "Jañaözen", "janaozen"}) {
    CliRun r = Estelik(std::string("--json search ") + Quote(q));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    for (const char* title :
         {"\"title\":\"A\"", "\"title\":\"B\"", "\"title\":\"C\"", "\"title\":\"D\""}) {
      EXPECT_NE(r.out.find(title), std::string::npos) << q << " did not find " << title;
    }
    EXPECT_EQ(r.out.find("\"title\":\"E\""), std::string::npos) << q;
  }
  CliRun r = Estelik("search Zhanaozen");
  EXPECT_NE(r.out.find("[Жаңаөзен]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[Jañaözen]"), std::string::npos) << r.out;
}

// Damaged pages of store.db: every command that reads one says so and exits 5 ("vault is
// corrupt or tampered: store.db page N"), never "disk I/O error".
TEST_F(CliTest, DamagedPagesAreReportedAsCorruptNamingThePageWithExitCode5) {
  for (int i = 0; i < 30; ++i) {
    Add("--title 'note " + std::to_string(i) + "' --body '" + std::string(3000, 'a' + i % 26) +
        " note'");
  }
  const std::string store = vault_ + "/store.db";
  const uint64_t pages = fs::file_size(store) / testing::kStorePageBytes;
  ASSERT_GT(pages, 20u);
  std::set<uint32_t> damaged;
  for (uint32_t p = 3; p <= pages; p += 2) damaged.insert(p);
  ASSERT_EQ(testing::FlipPages(store, damaged), "");
  for (const char* command : {"search note", "rebuild", "list"}) {
    SCOPED_TRACE(command);
    CliRun r = Estelik(command);
    EXPECT_EQ(r.exit_code, 5) << r.out;
    EXPECT_EQ(r.out.find("disk I/O error"), std::string::npos) << r.out;
    EXPECT_EQ(damaged.count(testing::DamagedPageNamed(r.out)), 1u) << r.out;
  }
  ASSERT_EQ(testing::FlipPages(store, {1, 2}), "");
  CliRun first = Estelik("list");
  EXPECT_EQ(first.exit_code, 5) << first.out;
  EXPECT_NE(first.out.find("vault is corrupt or tampered: store.db page 1"), std::string::npos)
      << first.out;
}

TEST_F(CliTest, HostileQueriesNeverFailWithASyntaxError) {
  Add("--title A --body 'quote \"marks\" and (parentheses)'");
  for (const char* q :
       {"\"unbalanced", "AND AND", "NOT", "*", "(", ")", "a:b", "-", "^x", "\"\"", "OR OR NOT"}) {
    CliRun r = Estelik(std::string("search ") + Quote(q));
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << q << ": " << r.out;
    EXPECT_EQ(r.out.find("syntax error"), std::string::npos) << q << ": " << r.out;
    EXPECT_EQ(r.out.find("fts5"), std::string::npos) << q << ": " << r.out;
  }
}

TEST_F(CliTest, EditKeepsTheOriginalInHistory) {
  std::string id = Add("--title 'First words' --body 'What I said first'");
  CliRun edit = Estelik("edit " + id + " --body 'What I said later'");
  ASSERT_EQ(edit.exit_code, 0) << edit.out;
  CliRun show = Estelik("show " + id);
  EXPECT_NE(show.out.find("What I said later"), std::string::npos);
  CliRun history = Estelik("history " + id);
  EXPECT_NE(history.out.find("version 1"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("What I said first"), std::string::npos);
  EXPECT_NE(history.out.find("What I said later"), std::string::npos);
}

TEST_F(CliTest, WithdrawLeavesOnlyATombstoneAndNeedsConfirmation) {
  std::string id = Add("--title Gone --body 'a secret that must vanish'");
  CliRun refused = Estelik("withdraw " + id);
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  CliRun done = Estelik("withdraw " + id + " --yes");
  ASSERT_EQ(done.exit_code, 0) << done.out;
  CliRun show = Estelik("show " + id);
  EXPECT_NE(show.out.find("WITHDRAWN"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("a secret that must vanish"), std::string::npos);
  CliRun search = Estelik("--json search vanish");
  EXPECT_EQ(search.out.find(id), std::string::npos) << search.out;
}

TEST_F(CliTest, AttachmentRoundTripsByteForByte) {
  std::string file = tmp_.File("interview.m4a");
  std::string content;
  for (uint32_t i = 0; i < 300000; ++i) content.push_back(static_cast<char>((i * 7919u) % 251u));
  std::ofstream(file, std::ios::binary) << content;
  std::string id = Add("--title Rec --body audio --attach " + Quote(file));
  CliRun show = Estelik("--json show " + id);
  EXPECT_NE(show.out.find("\"kind\":\"audio\""), std::string::npos) << show.out;
  std::string out = tmp_.File("back.m4a");
  CliRun r = Estelik("attachment " + id + " 1 --out " + Quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(ReadFileBytes(out), content);
  CliRun missing = Estelik("attachment " + id + " 2 --out " + Quote(out));
  EXPECT_EQ(missing.exit_code, 4) << missing.out;
}

TEST_F(CliTest, WrongPassphraseExitsWithCodeThreeAndChangesNothing) {
  Add("--title A --body B");
  std::string key_before = ReadFileBytes(fs::path(vault_) / "vault.key");
  CliRun r = Estelik("list", "not the passphrase");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("wrong passphrase"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFileBytes(fs::path(vault_) / "vault.key"), key_before);
}

// A store.db lost or cut short beside its vault.key is never taken for a new vault (issue #16
// item 6): every command, reading or writing, exits 5 naming store.db, and writes nothing.
TEST_F(CliTest, MissingEmptyOrTruncatedStoreIsCorruptWithExitCode5AndNothingIsOverwritten) {
  std::string id = Add("--title 'Kept' --body '" + std::string(9000, 'k') + "'");
  const fs::path key = fs::path(vault_) / "vault.key";
  const fs::path store = fs::path(vault_) / "store.db";
  const std::string key_bytes = ReadFileBytes(key);
  const std::string store_bytes = ReadFileBytes(store);
  ASSERT_GT(store_bytes.size(), 3 * testing::kStorePageBytes);
  const std::vector<std::pair<std::string, std::optional<size_t>>> damages = {
      {"missing", std::nullopt},
      {"0 bytes", 0},
      {"1 byte", 1},
      {"cut inside page 1", 3000},
      {"cut inside page 3", 2 * testing::kStorePageBytes + 100}};
  for (const auto& [what, size] : damages) {
    SCOPED_TRACE(what);
    fs::remove(store);
    if (size) std::ofstream(store, std::ios::binary) << store_bytes.substr(0, *size);
    for (const char* command : {"list", "add --title New --body 'would be a new vault'", "init"}) {
      SCOPED_TRACE(command);
      CliRun r = Estelik(command);
      if (std::string(command) == "init") {
        EXPECT_EQ(r.exit_code, 1) << r.out;  // a vault is there: never made anew
      } else {
        EXPECT_EQ(r.exit_code, 5) << r.out;
        EXPECT_NE(r.out.find("vault is corrupt or tampered: store.db"), std::string::npos) << r.out;
      }
      EXPECT_EQ(ReadFileBytes(key), key_bytes);
      EXPECT_EQ(fs::exists(store), size.has_value());
      if (size) {
        EXPECT_EQ(ReadFileBytes(store), store_bytes.substr(0, *size));
      }
      EXPECT_FALSE(fs::exists(fs::path(vault_) / "store.db-wal"));
      EXPECT_FALSE(fs::exists(fs::path(vault_) / "store.db-journal"));
    }
  }
  // The store put back, the vault is the one it was.
  std::ofstream(store, std::ios::binary | std::ios::trunc) << store_bytes;
  CliRun list = Estelik("list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(id.substr(0, 16)), std::string::npos) << list.out;
}

TEST_F(CliTest, ErrorsAreSpecificAndUseDocumentedExitCodes) {
  EXPECT_EQ(Estelik("show 0123456789abcdef0123456789abcdef").exit_code, 4);
  EXPECT_EQ(Estelik("show not-an-id").exit_code, 2);
  EXPECT_EQ(Estelik("add --body 'no title'").exit_code, 2);
  EXPECT_EQ(Estelik("frobnicate").exit_code, 2);
  EXPECT_EQ(Estelik("add --title A --body B --event-date yesterday").exit_code, 2);
  CliRun r = Estelik("list --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown option --bogus"), std::string::npos) << r.out;
  EXPECT_EQ(Estelik("init").exit_code, 1);  // already exists
}

TEST_F(CliTest, PasswdChangesThePassphrase) {
  Add("--title Kept --body kept");
  CliRun r = Estelik("passwd", "cli test passphrase", "ESTELIK_NEW_PASSPHRASE='brand new one'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Estelik("list", "cli test passphrase").exit_code, 3);
  CliRun list = Estelik("list", "brand new one");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("Kept"), std::string::npos);
}

TEST_F(CliTest, ImportReadsJsonLinesAndRejectsABadFileWhole) {
  std::string good = tmp_.File("good.jsonl");
  std::ofstream(good) << R"({"id":"x1","language":"ru","title":"Актау","body":"Суд в Актау"})"
                      << "\n"
                      << R"({"id":"x2","language":"en","title":"Aqtau","body":"Court in Aqtau",)"
                      << R"("tags":["court"],"event_date":"2012-04-02","extra":1})"
                      << "\n";
  CliRun r = Estelik("import " + Quote(good));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2"), std::string::npos);
  std::string bad = tmp_.File("bad.jsonl");
  std::ofstream(bad) << R"({"title":"ok","body":"ok"})"
                     << "\n{not json\n";
  CliRun b = Estelik("import " + Quote(bad));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.out.find("line 2"), std::string::npos) << b.out;
  CliRun list = Estelik("--json list");
  EXPECT_EQ(list.out.find("\"title\":\"ok\""), std::string::npos) << "partial import";
}

TEST_F(CliTest, NothingReadableReachesTheVaultFolder) {
  Add("--title 'CANARY-TITLE-7f3a' --body 'CANARY-BODY-7f3a Жаңаөзен'");
  for (const auto& file : ListFiles(vault_)) {
    std::string bytes = ReadFileBytes(file);
    EXPECT_EQ(bytes.find("CANARY"), std::string::npos) << file;
    EXPECT_EQ(bytes.find("SQLite format 3"), std::string::npos) << file;
  }
}

TEST_F(CliTest, DuressPassphraseOpensAnEmptyVaultAndTheRealOneIsGone) {
  Add("--title Real --body 'the real testimony'");
  CliRun set = Estelik("duress set", "cli test passphrase", "ESTELIK_DURESS_PASSPHRASE='harmless'");
  ASSERT_EQ(set.exit_code, 0) << set.out;
  CliRun decoy = Estelik("list", "harmless");
  EXPECT_EQ(decoy.exit_code, 0) << decoy.out;
  EXPECT_EQ(decoy.out.find("Real"), std::string::npos) << decoy.out;
  EXPECT_EQ(Estelik("list", "cli test passphrase").exit_code, 3);
  EXPECT_EQ(Estelik("add --title New --body 'decoy works'", "harmless").exit_code, 0);
}

TEST_F(CliTest, WipeDestroysTheVaultWithoutThePassphrase) {
  Add("--title Secret --body secret");
  EXPECT_EQ(Estelik("wipe").exit_code, 2);  // no terminal, no --yes: refused
  EXPECT_TRUE(fs::exists(vault_));
  CliRun r = Estelik("wipe --yes", "");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(vault_));
}

TEST_F(CliTest, HelpExplainsEachCommandWithAnExample) {
  for (const char* cmd : {"init", "add", "edit", "show", "list", "history", "withdraw", "search",
                          "attachment", "import", "passwd", "wipe", "duress", "id", "contacts",
                          "circles", "share", "serve", "sync"}) {
    CliRun r = Estelik(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("example:"), std::string::npos) << cmd << ": " << r.out;
  }
}

// Titles, bodies, tags, places, notes and file names are data anyone in a circle may have
// written: none of their control characters reaches the terminal (a title could otherwise
// retitle the window, clear the screen or forge output). Newlines of a body shown as a block
// stay.
TEST_F(CliTest, ControlCharactersFromUserDataNeverReachTheTerminal) {
  const std::string hostile =
      "\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
      "31m\r\x7f\x01";
  const std::string file = tmp_.File("evil\x1b[2Jname.txt");
  std::ofstream(file) << "attached";
  std::string id =
      Add("--title " + Quote("Title " + hostile) + " --body " +
          Quote("line one\n" + hostile + "\nline three") + " --tag " + Quote("tag" + hostile) +
          " --place " + Quote("place" + hostile) + " --lang en --attach " + Quote(file));
  CliRun note = Estelik("annotate " + id + " " + Quote("note" + hostile));
  ASSERT_EQ(note.exit_code, 0) << note.out;
  ASSERT_EQ(Estelik("edit " + id + " --title " + Quote("Second " + hostile)).exit_code, 0);
  for (const std::string& command : std::vector<std::string>{
           "list", "show " + id, "history " + id, "search pwned", "tag " + id + " more"}) {
    SCOPED_TRACE(command);
    CliRun r = Estelik(command);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("pwned"), std::string::npos) << r.out;  // the text itself is shown
    for (const std::string& bad :
         std::vector<std::string>{"\x1b", "\x07", "\xc2\x9b", "\r", "\x7f", "\x01"}) {
      EXPECT_EQ(r.out.find(bad), std::string::npos)
          << "control byte " << static_cast<int>(static_cast<unsigned char>(bad.back()))
          << " in: " << r.out;
    }
  }
  CliRun show = Estelik("show " + id);
  EXPECT_NE(show.out.find("line one\n"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\nline three"), std::string::npos) << show.out;
}

// An exported bundle and an extracted attachment hold plaintext: private to their owner even
// under umask 000 (directories 0700, files 0600).
TEST_F(CliTest, ExportedBundlesAndAttachmentsArePrivateWhateverTheUmask) {
  const std::string file = tmp_.File("photo.jpg");
  std::ofstream(file) << std::string(100000, 'p');
  std::string id = Add("--title Private --body 'private body' --attach " + Quote(file));
  const std::string bundle = tmp_.File("bundle");
  const std::string out = tmp_.File("extracted.jpg");
  auto run = [&](const std::string& args) {
    return testing::RunCommand("umask 000; ESTELIK_PASSPHRASE='cli test passphrase' " +
                               Quote(kEstelik) + " --vault " + Quote(vault_) + " " + args +
                               " 2>&1 </dev/null");
  };
  CliRun exported = run("export " + id + " --out " + Quote(bundle));
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  CliRun extracted = run("attachment " + id + " 1 --out " + Quote(out));
  ASSERT_EQ(extracted.exit_code, 0) << extracted.out;
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(out), 0600u);
  EXPECT_EQ(mode(bundle), 0700u);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(bundle)) {
    EXPECT_EQ(mode(e.path()), e.is_directory() ? 0700u : 0600u) << e.path();
    files += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_GE(files, 5u);  // key, ops and bodies, the attachment, manifest and report
  EXPECT_EQ(Estelik("verify " + Quote(bundle)).exit_code, 0);
}

// The network key never goes on a command line, where ps and /proc/<pid>/cmdline show it:
// --network-key HEX is refused with what to use instead; a file or ESTELIK_NETWORK_KEY work.
TEST_F(CliTest, TheNetworkKeyIsRefusedOnTheCommandLineAndTakenFromAFileOrTheEnvironment) {
  const std::string hex(64, 'a');
  for (const std::string& args :
       std::vector<std::string>{"sync 127.0.0.1:9 --network-key " + hex,
                                "serve --listen 127.0.0.1:0 --network-key=" + hex}) {
    SCOPED_TRACE(args);
    CliRun r = Estelik(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("--network-key-file"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ESTELIK_NETWORK_KEY"), std::string::npos) << r.out;
  }
  // The variable is read (a malformed one is named in the error)...
  CliRun bad = Estelik("sync 127.0.0.1:9", "cli test passphrase", "ESTELIK_NETWORK_KEY=xyz");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("ESTELIK_NETWORK_KEY: a network key is 64 hex digits"), std::string::npos)
      << bad.out;
  // ... and only one source is accepted.
  const std::string key_file = tmp_.File("circle.key");
  std::ofstream(key_file) << hex << "\n";
  CliRun both = Estelik("sync 127.0.0.1:9 --network-key-file " + Quote(key_file),
                        "cli test passphrase", "ESTELIK_NETWORK_KEY=" + hex);
  EXPECT_EQ(both.exit_code, 2) << both.out;
  EXPECT_NE(both.out.find("give the network key once"), std::string::npos) << both.out;
}

TEST_F(CliTest, PasswdHelpSaysTheDataIsNotReEncrypted) {
  CliRun help = Estelik("passwd --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("does not re-encrypt"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace estelik
