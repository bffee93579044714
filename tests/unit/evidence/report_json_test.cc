// The one rendering of export reports and verdicts is valid JSON whatever bytes a bundle
// smuggles into a field (a problem quoting a file name, a bundle path).
#include "core/evidence/report_json.h"

#include <gtest/gtest.h>

#include <string>

namespace estelik::evidence {
namespace {

// True iff `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

TEST(ReportJsonTest, InvalidUtf8InAFieldStillProducesValidJson) {
  Verdict v;
  v.problems = {"files/\xff\xfe.bin: not listed", "truncated \xe2\x82"};
  v.manifest_hash = "\xc0\xaf";  // an overlong '/'
  const std::string json = VerdictJson(v);
  EXPECT_TRUE(IsValidUtf8(json)) << json;
  EXPECT_NE(json.find("\xef\xbf\xbd"), std::string::npos) << json;  // U+FFFD stands in
  EXPECT_EQ(json.find("\xff"), std::string::npos);

  ExportReport r;
  r.bundle_path =
      "/tmp/\x80"
      "case";
  const std::string report = ExportReportJson(r);
  EXPECT_TRUE(IsValidUtf8(report)) << report;
  EXPECT_TRUE(
      report.starts_with("{\"bundle_path\":\"/tmp/\xef\xbf\xbd"
                         "case\""))
      << report;
}

TEST(ReportJsonTest, ControlCharactersAndQuotesAreEscaped) {
  Verdict v;
  v.problems = {"a \"quoted\"\nname\x01"};
  const std::string json = VerdictJson(v);
  EXPECT_NE(json.find(R"("a \"quoted\"\nname\u0001")"), std::string::npos) << json;
}

TEST(ReportJsonTest, KeysAreInTheDocumentedOrder) {
  Verdict v;
  v.ok = true;
  v.authors = {std::string(32, '\x01')};
  const std::string json = VerdictJson(v);
  EXPECT_TRUE(json.starts_with(R"({"ok":true,"problems":[],"exporter":"","exporter_fingerprint":)"))
      << json;
  EXPECT_NE(json.find(R"("authors":[{"key":"0101)"), std::string::npos) << json;
}

}  // namespace
}  // namespace estelik::evidence
