#include "cloudtwin/agent/cloud_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::agent {

namespace {

constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;

[[noreturn]] void bad(const std::string& source, const std::string& key, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, source + ": " + key + ": " + why);
}

std::string scalar(const YAML::Node& n, const std::string& source, const std::string& key) {
  if (!n.IsScalar()) bad(source, key, "expected a string");
  return n.as<std::string>();
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& source,
                                 const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) bad(source, key, "expected a list of strings");
  for (std::size_t i = 0; i < n.size(); ++i)
    out.push_back(scalar(n[i], source, key + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<Command> commands(const YAML::Node& n, const std::string& source,
                              const std::string& key) {
  if (!n.IsSequence()) bad(source, key, "expected a list");
  std::vector<Command> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto where = key + "[" + std::to_string(i) + "]";
    if (n[i].IsScalar()) {
      out.push_back({{"/bin/sh", "-c", n[i].as<std::string>()}, true});
    } else {
      auto argv = strings(n[i], source, where);
      if (argv.empty()) bad(source, where, "empty command");
      out.push_back({std::move(argv), false});
    }
  }
  return out;
}

unsigned permissions(const std::string& text, const std::string& source, const std::string& key) {
  // YAML 1.1 readers give 0644 as a string "0644" here; both "0644" and "644" are octal.
  unsigned mode = 0;
  if (text.empty() || text.size() > 5) bad(source, key, "'" + text + "' is not an octal mode");
  for (const char c : text) {
    if (c < '0' || c > '7') bad(source, key, "'" + text + "' is not an octal mode");
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 07777) bad(source, key, "'" + text + "' is not an octal mode");
  return mode;
}

std::string decode(const std::string& content, const std::string& encoding,
                   const std::string& source, const std::string& key) {
  const std::string e = core::lower(encoding);
  if (e.empty() || e == "text/plain") return content;
  if (e == "b64" || e == "base64") return core::base64_decode(content);
  if (e == "gz" || e == "gzip") return core::gunzip(content, kMaxFileSize);
  if (e == "gz+b64" || e == "gzip+base64" || e == "gz+base64" || e == "gzip+b64")
    return core::gunzip(core::base64_decode(content), kMaxFileSize);
  bad(source, key, "unknown encoding '" + encoding + "' (b64, gzip, gz+b64)");
}

WriteFile write_file(const YAML::Node& n, const std::string& source, const std::string& key) {
  if (!n.IsMap()) bad(source, key, "expected a mapping with path and content");
  WriteFile f;
  if (!n["path"]) bad(source, key, "no path");
  f.path = scalar(n["path"], source, key + ".path");
  if (f.path.empty() || f.path.front() != '/') bad(source, key + ".path", "must be absolute");
  const std::string content = n["content"] ? scalar(n["content"], source, key + ".content") : "";
  const std::string encoding =
      n["encoding"] ? scalar(n["encoding"], source, key + ".encoding") : "";
  f.content = decode(content, encoding, source, key + ".content");
  if (n["permissions"])
    f.mode = permissions(scalar(n["permissions"], source, key + ".permissions"), source,
                         key + ".permissions");
  if (n["owner"]) f.owner = scalar(n["owner"], source, key + ".owner");
  if (n["append"]) f.append = n["append"].as<bool>(false);
  return f;
}

UserSpec user(const YAML::Node& n, const std::string& source, const std::string& key) {
  UserSpec u;
  if (n.IsScalar()) {
    u.name = n.as<std::string>();
    return u;
  }
  if (!n.IsMap() || !n["name"]) bad(source, key, "expected a name or a mapping with name");
  u.name = scalar(n["name"], source, key + ".name");
  if (const auto s = n["sudo"]) {
    if (s.IsScalar() && s.as<std::string>() != "false")
      u.sudo = s.as<std::string>();
    else if (s.IsSequence() && s.size() > 0)
      u.sudo = scalar(s[0], source, key + ".sudo[0]");
  }
  if (n["ssh_authorized_keys"])
    u.ssh_authorized_keys = strings(n["ssh_authorized_keys"], source, key + ".ssh_authorized_keys");
  if (n["shell"]) u.shell = scalar(n["shell"], source, key + ".shell");
  return u;
}

}  // namespace

CloudConfig parse_cloud_config(std::string_view text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ParseError(ErrorCode::ContextSyntax, source, static_cast<std::size_t>(e.mark.line + 1),
                     static_cast<std::size_t>(e.mark.column + 1), e.msg);
  }
  CloudConfig c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) bad(source, "(top level)", "expected a mapping");
  try {
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      const auto& v = kv.second;
      if (key == "hostname")
        c.hostname = scalar(v, source, key);
      else if (key == "fqdn")
        c.fqdn = scalar(v, source, key);
      else if (key == "ssh_authorized_keys")
        c.ssh_authorized_keys = strings(v, source, key);
      else if (key == "runcmd")
        c.runcmd = commands(v, source, key);
      else if (key == "bootcmd")
        c.bootcmd = commands(v, source, key);
      else if (key == "write_files") {
        if (!v.IsSequence()) bad(source, key, "expected a list");
        for (std::size_t i = 0; i < v.size(); ++i)
          c.write_files.push_back(write_file(v[i], source, key + "[" + std::to_string(i) + "]"));
      } else if (key == "users") {
        if (!v.IsSequence()) bad(source, key, "expected a list");
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i].IsScalar() && v[i].as<std::string>() == "default") continue;
          c.users.push_back(user(v[i], source, key + "[" + std::to_string(i) + "]"));
        }
      } else {
        c.ignored.push_back(key);
      }
    }
  } catch (const YAML::Exception& e) {
    throw ParseError(ErrorCode::ContextBadValue, source, static_cast<std::size_t>(e.mark.line + 1),
                     static_cast<std::size_t>(e.mark.column + 1), e.msg);
  }
  return c;
}

}  // namespace cloudtwin::agent
