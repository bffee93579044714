// The deprecated JSON calls of the C API and the CLI render a verdict with the same code:
// `estelik verify --json` prints byte for byte the JSON estelik_verify returns, for a bundle
// that verifies and for one that does not.
#define ESTELIK_NO_DEPRECATION_WARNINGS  // estelik_export and estelik_verify are tested as such
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "platform/c/estelik.h"
#include "tests/support/temp_dir.h"

namespace {

constexpr char kPass[] = "correct horse battery staple";

std::string CApiVerdict(const std::string& bundle) {
  estelik_buffer verdict{nullptr, 0};
  estelik_error err = ESTELIK_ERROR_INIT;
  estelik_verify(bundle.c_str(), nullptr, &verdict, &err);
  estelik_error_clear(&err);
  std::string out(reinterpret_cast<const char*>(verdict.data), verdict.size);
  estelik_buffer_free(&verdict);
  return out;
}

std::string CliVerdict(const std::string& bundle, const std::string& out_file) {
  const std::string cli = std::string(ESTELIK_BINARY_DIR) + "/platform/cli/estelik";
  int rc = std::system((cli + " --json verify '" + bundle + "' > '" + out_file + "'").c_str());
  EXPECT_TRUE(WIFEXITED(rc));
  std::string text = estelik::testing::ReadFileBytes(out_file);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(EvidenceJsonTest, CliAndCApiPrintTheSameVerdict) {
  estelik::testing::TempDir dir;
  estelik_vault* vault = nullptr;
  ASSERT_EQ(estelik_vault_create(dir.File("vault").c_str(), kPass, sizeof kPass - 1,
                                 ESTELIK_KDF_TEST_ONLY, &vault, nullptr),
            ESTELIK_OK);
  char* id = nullptr;
  ASSERT_EQ(estelik_testimony_add_simple(vault, "en", "title", "body", &id, nullptr), ESTELIK_OK);
  const char* ids[] = {id};
  const std::string bundle = dir.File("bundle");
  ASSERT_EQ(estelik_export(vault, ids, 1, bundle.c_str(), nullptr, nullptr), ESTELIK_OK);
  estelik_string_free(id);
  estelik_vault_close(vault);

  const std::string good = CApiVerdict(bundle);
  EXPECT_TRUE(good.starts_with(R"({"ok":true,)")) << good;
  EXPECT_EQ(CliVerdict(bundle, dir.File("good.json")), good);

  std::ofstream(bundle + "/custody.json", std::ios::app) << " ";
  const std::string bad = CApiVerdict(bundle);
  EXPECT_TRUE(bad.starts_with(R"({"ok":false,)")) << bad;
  EXPECT_EQ(CliVerdict(bundle, dir.File("bad.json")), bad);
}

}  // namespace
