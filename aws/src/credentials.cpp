#include "cloudtwin/aws/credentials.hpp"

#include <cstdio>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::aws {

namespace {

std::string env_or(const Environment& env, const std::string& name, std::string fallback = {}) {
  const auto it = env.find(name);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

std::string octal_mode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777U);
  return buf;
}

// A profile's keys as credentials; nullopt when it has none. A half-filled profile is an
// error: silently falling through to the next source would use another account.
std::optional<Credentials> credentials_from(const std::map<std::string, std::string>& keys,
                                            const std::string& where) {
  const auto find = [&](const char* name) -> std::string {
    const auto it = keys.find(name);
    return it == keys.end() ? std::string() : it->second;
  };
  Credentials out{find("aws_access_key_id"), find("aws_secret_access_key"),
                  find("aws_session_token"), where};
  if (out.access_key_id.empty() && out.secret_access_key.empty()) return std::nullopt;
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                where + " has " +
                    (out.access_key_id.empty() ? "aws_secret_access_key but no aws_access_key_id"
                                               : "aws_access_key_id but no aws_secret_access_key") +
                    ": give both");
  }
  return out;
}

struct LoadedIni {
  std::string path;
  AwsIni sections;
};

std::optional<LoadedIni> load(const ConfigFiles& files, const std::string& path,
                              bool config_style) {
  auto file = files.read(path);
  if (!file) return std::nullopt;
  return LoadedIni{path, parse_aws_ini(file->text, path, config_style)};
}

const std::map<std::string, std::string>* section(const std::optional<LoadedIni>& ini,
                                                  const std::string& name) {
  if (!ini) return nullptr;
  const auto it = ini->sections.find(name);
  return it == ini->sections.end() ? nullptr : &it->second;
}

std::string value_of(const std::map<std::string, std::string>* keys, const char* name) {
  if (keys == nullptr) return {};
  const auto it = keys->find(name);
  return it == keys->end() ? std::string() : it->second;
}

}  // namespace

AwsIni parse_aws_ini(std::string_view text, const std::string& source, bool config_style) {
  std::vector<core::IniEntry> entries;
  try {
    entries = core::parse_ini(text, source);
  } catch (const ParseError& e) {
    // core's message quotes the line, which may be a pasted secret.
    throw ParseError(ErrorCode::InvalidArgument, source, e.line(), 1,
                     "neither '[section]' nor 'key = value' (line not shown: this file may "
                     "hold secrets)");
  }
  AwsIni out;
  for (const auto& entry : entries) {
    // parse_ini joins "section.name"; a section name may itself contain dots, a key not.
    const auto split = entry.key.rfind('.');
    std::string name = entry.key.substr(0, split);
    const std::string key = entry.key.substr(split + 1);
    if (name.empty()) continue;  // keys before any section: awscli ignores them too
    if (config_style) {
      const auto words = core::words(name, " \t");
      if (words.size() == 2 && words[0] == "profile") {
        name = words[1];
      } else if (name != "default") {
        continue;  // [sso-session x], [services x], ...: not profiles
      }
    }
    out[name][key] = entry.value;
  }
  return out;
}

AwsSettings resolve_aws_settings(const Environment& env, const ConfigFiles& files,
                                 const AwsSettingsRequest& request) {
  AwsSettings out;
  out.profile = !request.profile.empty() ? request.profile : env_or(env, "AWS_PROFILE", "default");
  const std::string home = env_or(env, "HOME");
  const std::string credentials_path =
      env_or(env, "AWS_SHARED_CREDENTIALS_FILE", home.empty() ? "" : home + "/.aws/credentials");
  const std::string config_path =
      env_or(env, "AWS_CONFIG_FILE", home.empty() ? "" : home + "/.aws/config");

  const auto credentials_ini =
      credentials_path.empty() ? std::nullopt : load(files, credentials_path, false);
  const auto config_ini = config_path.empty() ? std::nullopt : load(files, config_path, true);
  std::optional<LoadedIni> system_ini;
  if (auto file = files.read(request.system_conf)) {
    if ((file->mode & 077U) != 0) {
      throw Error(
          ErrorCode::InvalidArgument,
          request.system_conf + " holds AWS secrets but its mode is " + octal_mode(file->mode) +
              " (readable or writable by group or others): chmod 600 " + request.system_conf);
    }
    system_ini =
        LoadedIni{request.system_conf, parse_aws_ini(file->text, request.system_conf, false)};
  }

  const auto* cred_section = section(credentials_ini, out.profile);
  const auto* config_section = section(config_ini, out.profile);
  const auto* system_section = section(system_ini, out.profile);

  std::optional<Credentials> found;
  const std::string env_key = env_or(env, "AWS_ACCESS_KEY_ID");
  const std::string env_secret = env_or(env, "AWS_SECRET_ACCESS_KEY");
  if (request.profile.empty() && (!env_key.empty() || !env_secret.empty())) {
    if (env_key.empty() || env_secret.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("the environment has ") +
                      (env_key.empty() ? "AWS_SECRET_ACCESS_KEY but no AWS_ACCESS_KEY_ID"
                                       : "AWS_ACCESS_KEY_ID but no AWS_SECRET_ACCESS_KEY") +
                      ": set both");
    }
    found = Credentials{env_key, env_secret, env_or(env, "AWS_SESSION_TOKEN"), "environment"};
  }
  if (!found && cred_section != nullptr) {
    found = credentials_from(*cred_section, credentials_path + " [" + out.profile + "]");
  }
  if (!found && config_section != nullptr) {
    found = credentials_from(*config_section,
                             config_path + " [" +
                                 (out.profile == "default" ? "default" : "profile " + out.profile) +
                                 "]");
  }
  if (!found && system_section != nullptr) {
    found = credentials_from(*system_section, request.system_conf + " [" + out.profile + "]");
  }
  if (!found) {
    const bool named = out.profile != "default";
    throw Error(ErrorCode::NotFound,
                "no AWS credentials for profile '" + out.profile + "': looked in " +
                    (request.profile.empty() ? "the environment (AWS_ACCESS_KEY_ID), " : "") +
                    (credentials_path.empty() ? "" : credentials_path + ", ") +
                    (config_path.empty() ? "" : config_path + ", ") + request.system_conf +
                    (named ? "; check the profile name" : "") +
                    "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run 'aws configure', or "
                    "write " +
                    request.system_conf + " (mode 0600)");
  }
  out.credentials = std::move(*found);

  out.region = request.region;
  if (out.region.empty()) out.region = env_or(env, "AWS_REGION");
  if (out.region.empty()) out.region = env_or(env, "AWS_DEFAULT_REGION");
  if (out.region.empty()) out.region = value_of(config_section, "region");
  if (out.region.empty()) out.region = value_of(system_section, "region");
  return out;
}

}  // namespace cloudtwin::aws
