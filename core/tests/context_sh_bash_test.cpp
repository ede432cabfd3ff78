// The property the context.sh writer promises: for any value without NUL, our parser
// and real bash (`source context.sh; printf %s "$KEY"`) read back exactly the bytes
// that were written. Bash runs here only as an oracle; the parser never runs a shell.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "cloudtwin/core/context_sh.hpp"
#include "context_sh_cases.hpp"

namespace cloudtwin::core {
namespace {

namespace fs = std::filesystem;

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string tmpl = (fs::temp_directory_path() / "ctx-XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sources `file` in bash with the given locale and returns each key's value
// (printf '%s\0' per key: values hold no NUL, so NUL separates them safely).
std::vector<std::string> bash_read(const std::string& file, const std::vector<std::string>& keys,
                                   const char* locale) {
  std::string script =
      "set -e; source \"$1\"; shift; for k in \"$@\"; do printf '%s\\0' \"${!k}\"; done";
  std::vector<std::string> argv_s = {"/bin/bash", "--noprofile", "--norc", "-c",
                                     script,      "bash",        file};
  argv_s.insert(argv_s.end(), keys.begin(), keys.end());
  int pipefd[2];
  if (pipe(pipefd) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string lc = std::string("LC_ALL=") + locale;
    char* envp[] = {lc.data(), const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
    execve("/bin/bash", argv.data(), envp);
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("bash failed on " + file);
  }
  std::vector<std::string> values;
  std::size_t start = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\0') {
      values.push_back(out.substr(start, i - start));
      start = i + 1;
    }
  }
  return values;
}

std::string random_value(std::mt19937& rng) {
  // Half the bytes from the characters a shell treats specially, half from 1..255.
  static const std::string kSpecial = "'\"\\$`\n\t !#;&|(){}[]*?~<>=%^\r\x7f\xff\xc3\xa9";
  std::uniform_int_distribution<int> len_dist(0, 48), coin(0, 1), byte(1, 255);
  std::uniform_int_distribution<std::size_t> pick(0, kSpecial.size() - 1);
  std::string v;
  const int len = len_dist(rng);
  for (int i = 0; i < len; ++i) {
    v.push_back(coin(rng) ? kSpecial[pick(rng)] : static_cast<char>(byte(rng)));
  }
  return v;
}

class ContextShBash : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "/bin/bash is not installed";
  }
};

TEST_P(ContextShBash, RandomValuesReadBackIdentically) {
  const unsigned seed = 20261125;
  std::mt19937 rng(seed);
  ContextVars vars;
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "V" + std::to_string(i);
    vars[key] = random_value(rng);
    keys.push_back(key);
  }
  const std::string text = serialize_context_sh(vars);
  ASSERT_EQ(parse_context_sh(text), vars) << "own parser, seed " << seed;
  TempFile file(text);
  const auto from_bash = bash_read(file.path(), keys, GetParam());
  ASSERT_EQ(from_bash.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(from_bash[i], vars[keys[i]]) << keys[i] << " seed " << seed;
  }
}

TEST_P(ContextShBash, AcceptedInputsMeanTheSameToBash) {
  for (const auto& c : testing::accepted_cases()) {
    TempFile file(c.input);
    std::vector<std::string> keys;
    for (const auto& [k, v] : c.expected) keys.push_back(k);
    const auto from_bash = bash_read(file.path(), keys, GetParam());
    ASSERT_EQ(from_bash.size(), keys.size()) << c.name;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(from_bash[i], c.expected.at(keys[i])) << c.name << " key " << keys[i];
    }
  }
}

std::string locale_name(const ::testing::TestParamInfo<const char*>& param) {
  return std::string(param.param) == "C" ? "C" : "Utf8";
}

INSTANTIATE_TEST_SUITE_P(Locales, ContextShBash, ::testing::Values("C", "C.UTF-8"), locale_name);

}  // namespace
}  // namespace cloudtwin::core
