// context.sh: cloudtwin's parser against the reference way of reading it, OpenNebula
// one-context's `source context.sh` in bash (a process per read, as at boot).
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "cloudtwin/core/context_sh.hpp"
#include "ratio.hpp"

extern char** environ;

namespace {

using cloudtwin::core::ContextVars;

// A context CD for a 2-NIC VM with keys and cloud-config user-data: what a real one holds.
ContextVars typical_context() {
  ContextVars v;
  for (int n = 0; n < 2; ++n) {
    const std::string p = "ETH" + std::to_string(n) + "_";
    v[p + "MAC"] = "02:00:c0:a8:7a:0" + std::to_string(n + 2);
    v[p + "IP"] = "192.168.122." + std::to_string(n + 2);
    v[p + "MASK"] = "255.255.255.0";
    v[p + "NETWORK"] = "192.168.122.0";
    v[p + "GATEWAY"] = "192.168.122.1";
    v[p + "DNS"] = "192.168.122.1";
    v[p + "MTU"] = "1500";
    v[p + "METHOD"] = "static";
  }
  v["SET_HOSTNAME"] = "web-1";
  v["USERNAME"] = "ops";
  v["SSH_PUBLIC_KEY"] =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0aXkJx0eJbq8cX9cmbE1b2r0yKc3sWQmGxkK0 ops@laptop\n"
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC7 it's-a-key";
  v["USER_DATA"] = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo \"$HOSTNAME\" > /tmp/marker']\n";
  v["TOKEN"] = "YES";
  v["FILES"] = "/var/lib/one/a.sh /var/lib/one/b.conf";
  return v;
}

const std::string& context_text() {
  static const std::string text = cloudtwin::core::serialize_context_sh(typical_context());
  return text;
}

void BM_ParseContextSh(benchmark::State& state) {
  const auto& text = context_text();
  for (auto _ : state) {
    auto vars = cloudtwin::core::parse_context_sh(text);
    benchmark::DoNotOptimize(vars);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseContextSh);

void BM_SerializeContextSh(benchmark::State& state) {
  const auto vars = typical_context();
  for (auto _ : state) {
    auto text = cloudtwin::core::serialize_context_sh(vars);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SerializeContextSh);

// The reference: bash sources the file and prints every value, as one-context does.
void BM_BashSourceContextSh(benchmark::State& state) {
  char path[] = "/tmp/cloudtwin-bench-ctx-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    state.SkipWithError("mkstemp failed");
    return;
  }
  close(fd);
  std::ofstream(path, std::ios::binary) << context_text();
  std::string script = std::string("source ") + path + "; set > /dev/null";
  char* argv[] = {const_cast<char*>("bash"),
                  const_cast<char*>("--noprofile"),
                  const_cast<char*>("--norc"),
                  const_cast<char*>("-c"),
                  script.data(),
                  nullptr};
  for (auto _ : state) {
    pid_t pid = 0;
    if (posix_spawn(&pid, "/bin/bash", nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("cannot run /bin/bash");
      break;
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  unlink(path);
}
BENCHMARK(BM_BashSourceContextSh)->Unit(benchmark::kMicrosecond);

const bool registered = cloudtwin::bench::register_ratio(
    {"BM_ParseContextSh", "BM_BashSourceContextSh", "context.sh read (bash source vs parser)"});

}  // namespace
