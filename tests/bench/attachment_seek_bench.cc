// Positional attachment reads, as a media player seeking in a long video does them, through the
// public C API only (estelik.h, libestelik.so): writes one attachment of --size-mb MiB (default
// 256) into a new vault, then times --reads (default 2000) reads of 64 KiB at random byte
// offsets with estelik_attachment_read_at, and the same reads at chunk-aligned offsets. The
// baseline, measured in the same run with the same offsets, is pread() on an unencrypted file
// holding the same bytes. Both files are read through once before timing, so the page cache is
// warm in both cases: the figures compare decryption and SQLite lookup against a memcpy from the
// page cache, not disk speed. Prints p50/p99/mean latency, the ratio to the baseline, current
// RSS (VmRSS) after the reads and peak RSS (getrusage ru_maxrss).
//
//   attachment_seek_bench [--size-mb N] [--reads N] [--dir DIR]
//
// Not a ctest test: benchmarks are never timed unit tests.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "estelik.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadSize = 64 * 1024;
constexpr uint64_t kChunk = 64 * 1024;  // the engine's chunk size (docs/FORMAT.md)
const char kPass[] = "bench passphrase";

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

double CurrentRssMb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

int Fail(const char* what, estelik_status status, estelik_error* err) {
  std::fprintf(stderr, "attachment_seek_bench: %s: %s (%s)\n", what, estelik_status_name(status),
               err->message != nullptr ? err->message : "");
  estelik_error_clear(err);
  return 1;
}

int FailErrno(const char* what) {
  std::fprintf(stderr, "attachment_seek_bench: %s: %s\n", what, std::strerror(errno));
  return 1;
}

// Reads a file through once (plain read(), no decryption) so its pages are cached.
void WarmPageCache(const std::filesystem::path& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  std::vector<uint8_t> buf(1 << 20);
  while (read(fd, buf.data(), buf.size()) > 0) {
  }
  close(fd);
}

struct Stats {
  double p50_us, p99_us, mean_us;
};

Stats Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  return Stats{at(0.50), at(0.99), sum / static_cast<double>(us.size())};
}

void Print(const char* what, const Stats& s) {
  std::printf("  %-34s p50 %8.1f us   p99 %8.1f us   mean %8.1f us\n", what, s.p50_us, s.p99_us,
              s.mean_us);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t size_mb = 256;
  size_t reads = 2000;
  std::string dir_arg;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--size-mb") && i + 1 < argc) {
      size_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--reads") && i + 1 < argc) {
      reads = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir_arg = argv[++i];
    } else {
      std::fprintf(stderr, "usage: attachment_seek_bench [--size-mb N] [--reads N] [--dir DIR]\n");
      return 2;
    }
  }
  if (size_mb == 0 || reads == 0) {
    std::fprintf(stderr, "attachment_seek_bench: --size-mb and --reads must be positive\n");
    return 2;
  }
  std::string root_template =
      (dir_arg.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(dir_arg)) /
      "estelik-seek-bench-XXXXXX";
  if (mkdtemp(root_template.data()) == nullptr) return FailErrno("mkdtemp");
  const std::filesystem::path root = root_template;
  const std::filesystem::path vault_dir = root / "vault";
  const std::filesystem::path plain_path = root / "plain.bin";
  const uint64_t total = size_mb << 20;

  estelik_error err = ESTELIK_ERROR_INIT;
  estelik_vault* vault = nullptr;
  estelik_status st;
  if ((st = estelik_vault_create(vault_dir.c_str(), kPass, std::strlen(kPass),
                                 ESTELIK_KDF_TEST_ONLY, &vault, &err)) != ESTELIK_OK)
    return Fail("vault_create", st, &err);
  char* id = nullptr;
  if ((st = estelik_testimony_add_simple(vault, "en", "bench", "bench", &id, &err)) != ESTELIK_OK)
    return Fail("testimony_add_simple", st, &err);

  std::printf("attachment_seek_bench: %llu MiB attachment, %zu reads of %zu KiB, in %s\n",
              static_cast<unsigned long long>(size_mb), reads, kReadSize / 1024, root.c_str());
  // The same bytes into the vault and into the plain baseline file.
  {
    auto start = Clock::now();
    int fd = open(plain_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return FailErrno("open plain file");
    estelik_attachment_writer* writer = nullptr;
    if ((st = estelik_attachment_begin(vault, id, "bench.mp4", "video/mp4",
                                       ESTELIK_ATTACHMENT_VIDEO, &writer, &err)) != ESTELIK_OK)
      return Fail("attachment_begin", st, &err);
    std::vector<uint8_t> piece(1 << 20);
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<uint8_t>(i * 131 + (i >> 8));
    for (uint64_t done = 0; done < total; done += piece.size()) {
      piece[0] = static_cast<uint8_t>(done >> 20);  // no two MiB alike
      piece[piece.size() / 2] = static_cast<uint8_t>(done >> 28);
      if ((st = estelik_attachment_write(writer, piece.data(), piece.size(), &err)) != ESTELIK_OK)
        return Fail("attachment_write", st, &err);
      if (write(fd, piece.data(), piece.size()) != static_cast<ssize_t>(piece.size()))
        return FailErrno("write plain file");
    }
    if ((st = estelik_attachment_finish(writer, nullptr, &err)) != ESTELIK_OK)
      return Fail("attachment_finish", st, &err);
    close(fd);
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("  written (vault + plain file) in %.1f s; peak RSS so far %.1f MB\n", secs,
                PeakRssMb());
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) WarmPageCache(entry.path());
  }

  estelik_attachment_reader* reader = nullptr;
  if ((st = estelik_attachment_open(vault, id, 0, &reader, &err)) != ESTELIK_OK)
    return Fail("attachment_open", st, &err);
  uint64_t size = 0;
  if ((st = estelik_attachment_get_size(reader, &size, &err)) != ESTELIK_OK)
    return Fail("attachment_size", st, &err);
  if (size != total) {
    std::fprintf(stderr, "attachment_seek_bench: size %llu, wrote %llu\n",
                 static_cast<unsigned long long>(size), static_cast<unsigned long long>(total));
    return 1;
  }
  int plain_fd = open(plain_path.c_str(), O_RDONLY);
  if (plain_fd < 0) return FailErrno("open plain file");

  std::mt19937_64 rng(20261203);
  std::vector<uint8_t> got(kReadSize), want(kReadSize);
  double rss_before = CurrentRssMb();
  for (bool aligned : {false, true}) {
    std::vector<uint64_t> offsets(reads);
    for (auto& o : offsets) {
      o = rng() % (total - kReadSize + 1);
      if (aligned) o -= o % kChunk;
    }
    std::vector<double> base_us, seek_us;
    base_us.reserve(reads);
    seek_us.reserve(reads);
    for (uint64_t o : offsets) {  // baseline first, then the same offsets through the vault
      auto t0 = Clock::now();
      ssize_t n = pread(plain_fd, want.data(), kReadSize, static_cast<off_t>(o));
      base_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (n != static_cast<ssize_t>(kReadSize)) return FailErrno("pread");
    }
    for (size_t i = 0; i < reads; ++i) {
      size_t n = 0;
      auto t0 = Clock::now();
      st = estelik_attachment_read_at(reader, offsets[i], got.data(), kReadSize, &n, &err);
      seek_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (st != ESTELIK_OK) return Fail("attachment_read_at", st, &err);
      if (n != kReadSize) {
        std::fprintf(stderr, "attachment_seek_bench: short read %zu at %llu\n", n,
                     static_cast<unsigned long long>(offsets[i]));
        return 1;
      }
      if (i % 64 == 0) {  // spot-check the bytes (outside the timed call)
        if (pread(plain_fd, want.data(), kReadSize, static_cast<off_t>(offsets[i])) !=
                static_cast<ssize_t>(kReadSize) ||
            std::memcmp(got.data(), want.data(), kReadSize) != 0) {
          std::fprintf(stderr, "attachment_seek_bench: wrong bytes at %llu\n",
                       static_cast<unsigned long long>(offsets[i]));
          return 1;
        }
      }
    }
    Stats base = Summarize(base_us), seek = Summarize(seek_us);
    std::printf("%s offsets:\n", aligned ? "chunk-aligned" : "random byte");
    Print("pread, plain file (baseline)", base);
    Print("estelik_attachment_read_at", seek);
    std::printf("  ratio read_at / pread: p50 %.1fx, p99 %.1fx; read_at %.0f MiB/s at p50\n",
                seek.p50_us / base.p50_us, seek.p99_us / base.p99_us,
                (kReadSize / (1024.0 * 1024.0)) / (seek.p50_us / 1e6));
  }
  std::printf("RSS: %.1f MB before the reads, %.1f MB after; peak (ru_maxrss) %.1f MB\n",
              rss_before, CurrentRssMb(), PeakRssMb());
  close(plain_fd);
  estelik_attachment_close(reader);
  estelik_string_free(id);
  estelik_vault_close(vault);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}
