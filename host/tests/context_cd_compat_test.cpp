// Compatibility of the context CD: what our libisofs writer puts on it reads back byte for
// byte through isoinfo (Rock Ridge and Joliet) and xorriso, and cloud-init's OpenNebula
// datasource (its context-directory reader, on the extracted files) sees exactly the
// variables we serialised. The CD is assembled as VmService::write_cds does it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/host/adapters.hpp"

#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;

using testing::have;
using testing::sh;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "cloudtwin-cdcompat-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// Values that break naive quoting: quotes of both kinds, newlines (trailing too), $,
// backticks, backslashes, globs, comments, UTF-8, empty and blank values.
core::ContextVars tricky_context() {
  core::ContextVars v;
  v["ETH0_MAC"] = "02:00:0a:00:00:05";
  v["ETH0_IP"] = "10.0.0.5";
  v["ETH0_MASK"] = "255.255.255.0";
  v["ETH0_GATEWAY"] = "10.0.0.1";
  v["SET_HOSTNAME"] = "web-1";
  v["SSH_PUBLIC_KEY"] = "ssh-ed25519 AAAAC3Nza one@a\nssh-rsa AAAAB3Nza it's \"two\"";
  v["USER_DATA"] = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo \"$HOSTNAME\" > /tmp/m']\n";
  v["SINGLE"] = "it's 'quoted'";
  v["ONLY_QUOTE"] = "'";
  v["DOUBLE"] = "say \"hi\" \\\"there\\\"";
  v["DOLLAR"] = "$HOME ${PATH} $(id) `id` $$ $1 $@";
  v["NEWLINES"] = "line 1\nline 2\n\n";
  v["BACKSLASH"] = "C:\\dir\\ end\\";
  v["GLOB_COMMENT"] = "* ? [a] # not a comment ; && || | > <";
  v["SPACES"] = "  leading and trailing\t ";
  v["EMPTY"] = "";
  v["UTF8"] = "h\xc3\xa9llo \xe2\x9c\x93";
  v["FILES"] = "/srv/init.sh /srv/app.conf";
  return v;
}

// Runs cloud-init's reader on `dir` and returns its metadata, NUL-separated key/value
// pairs, as a map; "userdata" and derived keys are returned under "@"-prefixed names.
std::map<std::string, std::string> cloud_init_read(const fs::path& dir, const fs::path& work) {
  const auto script = work / "read_context.py";
  std::ofstream(script) << R"PY(import sys
from cloudinit.distros import debian
from cloudinit.sources.DataSourceOpenNebula import read_context_disk_dir
# A real distro object, as cloud-init's tests build one; it only maps NICs for ETHx_IP.
r = read_context_disk_dir(sys.argv[1], debian.Distro("debian", {}, None), asuser=None)
out = []
for k, v in sorted(r["metadata"].items()):
    if k == "public-keys":
        k, v = "@public-keys", "\n".join(v)
    elif k == "local-hostname":
        k = "@local-hostname"
    if isinstance(v, str):
        out += [k, v]
out += ["@userdata", r["userdata"] if r["userdata"] is not None else "<none>"]
out += ["@network", "yes" if r.get("network-interfaces") else "no"]
sys.stdout.buffer.write(b"\0".join(s.encode() for s in out) + b"\0")
)PY";
  // A clean environment: parse_shell_config reports only variables context.sh changes.
  const auto raw = sh("env -i PATH=/usr/bin:/bin /usr/bin/python3 " + script.string() + " " +
                      dir.string() + " 2>" + (work / "py.err").string());
  std::map<std::string, std::string> m;
  std::vector<std::string> parts;
  std::string cur;
  for (const char c : raw) {
    if (c == '\0') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) m[parts[i]] = parts[i + 1];
  return m;
}

struct ContextCd {
  TempDir dir;
  core::ContextVars vars = tricky_context();
  std::map<std::string, std::string> files;  // name on the CD -> exact bytes
  fs::path iso = dir.path / "context.iso";

  ContextCd() {
    const auto init = dir.path / "init.sh";
    const auto conf = dir.path / "app.conf";
    files["context.sh"] = core::serialize_context_sh(vars);
    files["init.sh"] = "#!/bin/sh\necho \"init $1\" 'from' the CD\n";
    files["app.conf"] = std::string("bin\0ary\xff\n", 9) + "no trailing newline";
    std::ofstream(init, std::ios::binary) << files["init.sh"];
    std::ofstream(conf, std::ios::binary) << files["app.conf"];
    make_libisofs_writer()->write(iso.string(), "CONTEXT",
                                  {{"context.sh", files["context.sh"], ""},
                                   {"init.sh", "", init.string()},
                                   {"app.conf", "", conf.string()}});
  }
};

TEST(ContextCdCompat, IsoinfoReadsBackEveryFileByteForByte) {
  if (!have("isoinfo")) GTEST_SKIP() << "isoinfo not installed (package genisoimage)";
  ContextCd cd;
  EXPECT_NE(sh("isoinfo -d -i " + cd.iso.string()).find("Volume id: CONTEXT\n"), std::string::npos);
  for (const auto& [name, bytes] : cd.files) {
    for (const char* ext : {"-R", "-J"}) {
      EXPECT_EQ(sh(std::string("isoinfo ") + ext + " -i " + cd.iso.string() + " -x /" + name),
                bytes)
          << name << " via isoinfo " << ext;
    }
  }
  // Nothing else on the CD: the Rock Ridge listing names exactly our three files.
  const auto listing = sh("isoinfo -R -f -i " + cd.iso.string());
  EXPECT_EQ(listing, "/app.conf\n/context.sh\n/init.sh\n");
}

TEST(ContextCdCompat, XorrisoExtractsTheSameFilesAndNothingElse) {
  if (!have("xorriso")) GTEST_SKIP() << "xorriso not installed";
  ContextCd cd;
  const auto out = cd.dir.path / "x";
  sh("xorriso -osirrox on -indev " + cd.iso.string() + " -extract / " + out.string() +
     " >/dev/null 2>&1");
  std::map<std::string, std::string> got;
  for (const auto& e : fs::directory_iterator(out)) got[e.path().filename()] = slurp(e.path());
  EXPECT_EQ(got, cd.files);
}

TEST(ContextCdCompat, CloudInitOpenNebulaSeesTheSameVariables) {
  if (!have("xorriso")) GTEST_SKIP() << "xorriso not installed";
  if (sh("/usr/bin/python3 -c 'import cloudinit.sources.DataSourceOpenNebula' 2>/dev/null && "
         "echo ok") != "ok\n") {
    GTEST_SKIP() << "cloud-init (OpenNebula datasource) not importable by /usr/bin/python3";
  }
  ContextCd cd;
  const auto out = cd.dir.path / "x";
  sh("xorriso -osirrox on -indev " + cd.iso.string() + " -extract / " + out.string() +
     " >/dev/null 2>&1");
  ASSERT_EQ(slurp(out / "context.sh"), cd.files["context.sh"]);

  auto seen = cloud_init_read(out, cd.dir.path);
  ASSERT_FALSE(seen.empty()) << slurp(cd.dir.path / "py.err");
  EXPECT_EQ(seen["@public-keys"], cd.vars["SSH_PUBLIC_KEY"]);
  EXPECT_EQ(seen["@local-hostname"], "web-1");
  EXPECT_EQ(seen["@userdata"], cd.vars["USER_DATA"]);
  EXPECT_EQ(seen["@network"], "yes");
  std::map<std::string, std::string> vars;
  for (const auto& [k, v] : seen) {
    if (k.empty() || k[0] != '@') vars[k] = v;
  }
  const std::map<std::string, std::string> want(cd.vars.begin(), cd.vars.end());
  EXPECT_EQ(vars, want);  // same names, same bytes: nothing lost, nothing added
}

}  // namespace
}  // namespace cloudtwin::host
