#include "platform/cli/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

extern char** environ;

namespace estelik::cli {
namespace {

// What TakeSecretsFromEnvironment took, by variable name (written once, before any thread).
std::map<std::string, std::string>& TakenSecrets() {
  static std::map<std::string, std::string> taken;
  return taken;
}

// Overwrites the value of every `name=value` entry of the environment in place (so the bytes
// of the original block, the one /proc/<pid>/environ shows, are gone) and returns the first
// value, if any.
std::optional<std::string> WipeFromEnvironment(const std::string& name) {
  std::optional<std::string> value;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    char* e = *entry;
    if (std::strncmp(e, name.c_str(), name.size()) != 0 || e[name.size()] != '=') continue;
    char* v = e + name.size() + 1;
    const size_t n = std::strlen(v);
    if (!value) value.emplace(v, n);
    volatile char* p = v;  // not optimised away: the environment outlives this function
    for (size_t i = 0; i < n; ++i) p[i] = '\0';
  }
  return value;
}

Result<std::string> PromptNoEcho(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgument("no terminal to ask for the passphrase; set ESTELIK_PASSPHRASE");
  }
  termios old_attr{};
  bool restore = tcgetattr(fd, &old_attr) == 0;
  if (restore) {
    termios quiet = old_attr;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n' && c != '\r') line.push_back(c);
  (void)!::write(fd, "\n", 1);
  if (restore) tcsetattr(fd, TCSAFLUSH, &old_attr);
  ::close(fd);
  return line;
}

}  // namespace

void TakeSecretsFromEnvironment() {
  for (const char* name : kSecretVariables) {
    std::optional<std::string> value = WipeFromEnvironment(name);
    if (!value) continue;
    TakenSecrets()[name] = std::move(*value);
    ::unsetenv(name);
  }
}

const std::string* EnvironmentSecret(const char* name) {
  auto it = TakenSecrets().find(name);
  return it == TakenSecrets().end() ? nullptr : &it->second;
}

Result<std::string> ReadPassphrase(const std::string& prompt) {
  if (const std::string* env = EnvironmentSecret("ESTELIK_PASSPHRASE")) return *env;
  return PromptNoEcho(prompt);
}

Result<std::string> ReadNewPassphrase(const std::string& prompt, const char* env_var) {
  if (const std::string* env = EnvironmentSecret(env_var)) {
    if (env->empty()) return InvalidArgument(std::string(env_var) + " is empty");
    return *env;
  }
  ESTELIK_ASSIGN_OR_RETURN(std::string first, PromptNoEcho(prompt));
  ESTELIK_ASSIGN_OR_RETURN(std::string second, PromptNoEcho("Repeat it: "));
  if (first != second) return InvalidArgument("the two passphrases differ; nothing changed");
  if (first.empty()) return InvalidArgument("the passphrase must not be empty");
  return first;
}

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done) {
  if (!enabled_ || finished_ || total_ == 0) return;
  int percent = static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), filled,
               "##############################", kWidth - filled, "", percent);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (last_percent_ >= 0) std::fprintf(stderr, "\n");
}

}  // namespace estelik::cli
