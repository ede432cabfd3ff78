#pragma once
// Settings of cloudtwin-metadata: built-in defaults, then /etc/cloudtwin/metadata.conf
// (INI), then command-line flags. Pure: the caller reads the file.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/metadata/server.hpp"
#include "cloudtwin/metadata/tokens.hpp"

namespace cloudtwin::metadata {

inline constexpr const char* kDefaultConfigFile = "/etc/cloudtwin/metadata.conf";

struct Config {
  std::vector<ListenSpec> listen = {{"169.254.169.254", 80, ""}, {"fd00:ec2::254", 80, ""}};
  // Where records come from: a directory when instances_dir is set (--records, [server]
  // instances_dir), else libvirt at libvirt_uri (--libvirt, [server] libvirt_uri).
  std::string instances_dir;
  std::string libvirt_uri = "qemu:///system";
  std::string ctl_socket = "/run/cloudtwin/metadata.sock";  // [server] ctl_socket; "" = none
  // [server] state_dir: what outlives a restart (notices.json, the ctl notices; 0600).
  std::string state_dir = "/var/lib/cloudtwin/metadata";
  // [server] log_file: append log lines there (reopened on SIGHUP, for logrotate)
  // instead of to stderr (the journal under systemd). "" = stderr.
  std::string log_file;
  std::string identity_key = "/var/lib/cloudtwin/metadata/identity.key";
  std::string identity_cert = "/var/lib/cloudtwin/metadata/identity.crt";
  // [identity] rsa2048_key, rsa2048_cert: "" = identity_key / identity_cert with
  // "-rsa2048" before the extension.
  std::string identity_rsa2048_key;
  std::string identity_rsa2048_cert;
  // [imds] account_id: accountId of identity documents whose record has no account-id;
  // "" = derive_account_id() of the host's machine id.
  std::string account_id;
  // [server] header_timeout (seconds): a request begun must be complete within it.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(5);
  bool access_log = false;
  unsigned threads = 1;
  bool neighbor_check = true;  // [server] neighbor_check: caller's MAC from the kernel
  // [imds]: defaults for records that leave metadata-options out, and the token TTL cap.
  record::MetadataOptions record_defaults;  // default_hop_limit, allow_imdsv1 (-> http-tokens)
  int token_ttl_max = 21600;
  std::size_t tokens_per_vm = TokenService::kDefaultTokensPerVm;  // [imds] tokens_per_vm
  // [limits] requests_per_second, burst, connections_per_vm, connections,
  // connections_unknown (the last two: 0 = derived from the descriptor limit).
  LimitOptions limits;
};

// A stable 12-digit account id for this host, from its machine id (/etc/machine-id):
// the same on every start, different between hosts.
std::string derive_account_id(std::string_view machine_id);

// Applies "[section] key = value" lines ('#' and ';' start comments). Known keys:
// [server] listen (space-separated ListenSpecs), instances_dir, libvirt_uri, ctl_socket,
// state_dir, log_file, access_log, threads, neighbor_check, header_timeout; [identity] key, cert,
// rsa2048_key, rsa2048_cert; [imds] token_ttl_max, tokens_per_vm, default_hop_limit, allow_imdsv1,
// account_id; [limits] requests_per_second, burst, connections_per_vm, connections,
// connections_unknown. Unknown keys come back as warnings "source:line:
// ...". Throws Error(InvalidArgument) with source:line for a malformed line or value.
std::vector<std::string> apply_ini(Config& config, std::string_view text,
                                   const std::string& source);

// The settings that differ between `before` and `after` and that only a restart applies
// (SIGHUP re-reads the file but keeps listeners, store, tokens and limits), as
// "[section] key" names, in the order of the file's documentation.
std::vector<std::string> needs_restart(const Config& before, const Config& after);

}  // namespace cloudtwin::metadata
