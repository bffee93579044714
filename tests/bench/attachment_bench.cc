// Attachment throughput and memory: adds, reads and verifies one attachment of --size-mb
// MiB (default 2048) in a plain SQLite store in a temporary directory, printing MB/s per
// phase and the process's peak RSS (goal: far under 64 MB whatever the size).
//
//   attachment_bench [--size-mb N] [--dir DIR]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace {

using namespace estelik;                  // NOLINT
using namespace estelik::store::testing;  // NOLINT
using Clock = std::chrono::steady_clock;

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

void Report(const char* phase, uint64_t bytes, Clock::time_point start) {
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  std::printf("%-7s %8.0f MiB in %7.2f s = %7.1f MiB/s   peak RSS so far %6.1f MB\n", phase, mb,
              secs, mb / secs, PeakRssMb());
  std::fflush(stdout);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "attachment_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t size_mb = 2048;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--size-mb") && i + 1 < argc) {
      size_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: attachment_bench [--size-mb N] [--dir DIR]\n");
      return 2;
    }
  }
  estelik::testing::TempDir tmp;
  std::string path = (dir.empty() ? tmp.path() : std::filesystem::path(dir)) / "bench_store.db";
  std::filesystem::remove(path);
  {
    DbHandle db = OpenTestDb(path);
    auto store = store::Store::Open(db.get());
    if (!store.ok()) return Fail(store.status());
    if (auto s = (*store)->CreateTestimony(Testimony(1, Fields("bench", "bench")), Key(1)); !s.ok())
      return Fail(s);
    pb::AttachmentInfo meta;
    meta.set_attachment_id(std::string(16, '\x42'));
    meta.set_testimony_id(Id(1));
    meta.set_author(Author(1));
    meta.set_name("bench.mp4");
    meta.set_media_type("video/mp4");
    meta.set_kind(pb::ATTACHMENT_KIND_VIDEO);

    const uint64_t total = size_mb << 20;
    std::vector<uint8_t> piece(1 << 20);
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<uint8_t>(i * 131 + (i >> 8));
    std::printf("attachment_bench: %llu MiB, chunk %zu KiB, %zu chunks per commit, db %s\n",
                static_cast<unsigned long long>(size_mb), store::kChunkSize / 1024,
                store::kChunksPerCommit, path.c_str());

    auto start = Clock::now();
    {
      auto w = (*store)->BeginAttachment(meta);
      if (!w.ok()) return Fail(w.status());
      for (uint64_t done = 0; done < total; done += piece.size()) {
        piece[0] = static_cast<uint8_t>(done >> 20);  // no two MiB alike
        if (auto s = (*w)->Append(piece); !s.ok()) return Fail(s);
      }
      auto info = (*w)->Finish();
      if (!info.ok()) return Fail(info.status());
    }
    Report("add", total, start);

    start = Clock::now();
    {
      auto r = (*store)->OpenAttachment(meta.attachment_id());
      if (!r.ok()) return Fail(r.status());
      uint64_t read = 0;
      while (true) {
        auto n = (*r)->Read(piece);
        if (!n.ok()) return Fail(n.status());
        if (*n == 0) break;
        read += *n;
      }
      if (read != total) return Fail(Internal("read back a different size"));
    }
    Report("read", total, start);

    start = Clock::now();
    {
      auto r = (*store)->OpenAttachment(meta.attachment_id());
      if (!r.ok()) return Fail(r.status());
      if (auto s = (*r)->Verify(); !s.ok()) return Fail(s);
    }
    Report("verify", total, start);
  }
  std::printf("database file %.0f MiB; peak RSS %.1f MB (goal < 64 MB)\n",
              static_cast<double>(std::filesystem::file_size(path)) / (1024.0 * 1024.0),
              PeakRssMb());
  std::filesystem::remove(path);
  return 0;
}
