#include "cloudtwin/host/ec2_host.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/ec2_user_data.hpp"
#include "cloudtwin/host/vm_plan.hpp"

namespace cloudtwin::host {
namespace {

class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// Marks the record of a create that has not finished (a rerun resumes it).
constexpr std::string_view kCreating = " (creating)";

bool is_not_found(const Error& e) { return e.code() == ErrorCode::NotFound; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& w : core::words(text, "\r\n")) out.push_back(w);
  return out;
}

// Fills the record's EC2 view from what DescribeInstances says.
void take_instance(record::Instance& r, const aws::Instance& i) {
  r.host.provider_id = i.instance_id;
  if (!i.image_id.empty()) r.ami_id = i.image_id;
  if (!i.instance_type.empty()) r.instance_type = i.instance_type;
  if (!i.availability_zone.empty()) r.availability_zone = i.availability_zone;
  r.local_ipv4 = i.private_ip;
  r.public_ipv4 = i.public_ip;
  r.interfaces.clear();
  if (!i.private_ip.empty()) {
    record::NetworkInterface n;
    n.mac = "02:00:00:00:00:00";  // EC2 assigns it; DescribeInstances' NIC set is not read
    n.local_ipv4s = {i.private_ip};
    if (!i.public_ip.empty()) n.public_ipv4s = {i.public_ip};
    n.subnet_id = i.subnet_id;
    n.vpc_id = i.vpc_id;
    n.security_group_ids = i.security_group_ids;
    r.interfaces.push_back(std::move(n));
  }
}

}  // namespace

std::vector<std::pair<std::string, unsigned>> parse_max_instances(std::string_view text) {
  std::vector<std::pair<std::string, unsigned>> out;
  for (const auto& item : core::words(text, ",")) {
    const auto colon = item.find(':');
    const auto type = std::string(core::trim(item.substr(0, colon)));
    const auto count = colon == std::string::npos ? std::string()
                                                  : std::string(core::trim(item.substr(colon + 1)));
    unsigned n = 0;
    const auto r = std::from_chars(count.data(), count.data() + count.size(), n);
    if (type.empty() || count.empty() || r.ec != std::errc() ||
        r.ptr != count.data() + count.size() || n > 100000) {
      throw Error(ErrorCode::InvalidArgument,
                  "[ec2] max_instances: '" + item +
                      "' is not TYPE:COUNT (e.g. max_instances = t3.micro:4, m5.large:1)");
    }
    for (const auto& [t, c] : out) {
      if (t == type)
        throw Error(ErrorCode::InvalidArgument, "[ec2] max_instances: " + type + " given twice");
    }
    out.emplace_back(type, n);
  }
  return out;
}

VmState ec2_state(std::string_view name) {
  if (name == "pending") return VmState::Pending;
  if (name == "running") return VmState::Running;
  if (name == "stopping" || name == "shutting-down") return VmState::Stopping;
  if (name == "stopped") return VmState::Stopped;
  if (name == "terminated") return VmState::Terminated;
  return VmState::Unknown;
}

Ec2Host::Ec2Host(std::string name, Ec2Config config, Ec2Adapters adapters)
    : name_(std::move(name)), config_(std::move(config)), a_(std::move(adapters)) {}

Ec2Host::~Ec2Host() = default;

aws::Ec2Client& Ec2Host::client() {
  if (!client_) {
    aws::Ec2ClientOptions o;
    o.region = config_.region;
    if (!config_.endpoint.empty()) o.endpoint = aws::parse_url(config_.endpoint);
    client_ = std::make_unique<aws::Ec2Client>(*a_.http, *a_.crypto, *a_.timing, a_.credentials(),
                                               std::move(o));
  }
  return *client_;
}

std::string Ec2Host::instance_type_of(const VmTemplate& tmpl) const {
  return tmpl.ec2 && !tmpl.ec2->instance_type.empty() ? tmpl.ec2->instance_type
                                                      : config_.instance_type;
}

record::Instance Ec2Host::find(const std::string& vm) {
  for (auto& r : a_.records->load()) {
    if (r.host.name == vm) return r;
  }
  throw Error(ErrorCode::NotFound,
              "no VM named '" + vm + "' on " + name_ + " (" + location() + ")");
}

// DescribeInstances until the instance is in `wanted`, waiting longer each time.
aws::Instance Ec2Host::wait_for(const std::string& ec2_id, std::string_view wanted) {
  std::string last;
  for (int attempt = 1; attempt <= config_.poll_attempts; ++attempt) {
    auto found = client().describe_instances({{}, {{"instance-id", {ec2_id}}}, 0});
    if (found.empty()) {
      throw Error(ErrorCode::NotFound, "EC2 instance " + ec2_id + " (" + location() +
                                           ") is gone while waiting for it to be " +
                                           std::string(wanted));
    }
    auto& i = found.front();
    if (i.state == wanted) return i;
    if (wanted == "running" && (i.state == "terminated" || i.state == "shutting-down")) {
      throw Error(ErrorCode::System, "EC2 instance " + ec2_id + " (" + location() + ") is " +
                                         i.state + " instead of running" +
                                         (i.state_reason.empty() ? "" : ": " + i.state_reason));
    }
    last = i.state;
    const double grown = static_cast<double>(config_.poll_first.count()) *
                         std::ldexp(1.0, std::min(attempt - 1, 20));
    const double bound = std::min(static_cast<double>(config_.poll_max.count()), grown);
    a_.timing->sleep(std::chrono::milliseconds(
        static_cast<long long>(bound * (0.5 + 0.5 * a_.timing->random_unit()))));
  }
  throw Error(ErrorCode::System, "EC2 instance " + ec2_id + " (" + location() + ") is still " +
                                     last + " after " + std::to_string(config_.poll_attempts) +
                                     " checks; see `cloudtwin vm show`, or delete it");
}

VmSummary Ec2Host::create(const VmTemplate& tmpl, const CreateOptions& options) {
  if (!tmpl.ec2 || tmpl.ec2->ami.empty()) {
    throw Error(ErrorCode::InvalidArgument, "the template has no EC2 = [ AMI = \"ami-...\" ]: " +
                                                name_ + " needs the image to run it from");
  }
  record::Instance r;
  bool resumed = false;
  const auto vm = !options.name.empty() ? options.name : tmpl.name;
  if (!vm.empty()) {
    check_vm_name(vm);
    for (auto& old : a_.records->load()) {
      if (old.host.name != vm) continue;
      if (old.host.placement.find(kCreating) == std::string::npos) {
        throw Error(ErrorCode::InvalidArgument,
                    "VM '" + vm + "' already exists on " + name_ + " (" +
                        (old.host.provider_id.empty() ? old.instance_id : old.host.provider_id) +
                        "); delete it first or choose another --name");
      }
      resumed = true;  // a create that did not finish: go on where it stopped
      r = std::move(old);
    }
  }
  if (!resumed) {
    static const SystemClock system;
    const Clock& clock = a_.clock ? *a_.clock : system;
    r.instance_id = generate_instance_id(*a_.random);
    r.pending_time = record::iso8601_utc(clock.now());
    r.host.kind = "ec2";
    r.host.location = location();
    r.host.name = vm.empty() ? r.instance_id : vm;
    r.host.placement = options.placement + std::string(kCreating);
  }
  const auto guest = plan_guest_identity(tmpl, r.host.name, r.instance_id, options.user_ssh_key);
  r.hostname = r.local_hostname = guest.hostname;
  r.ami_id = tmpl.ec2->ami;
  r.instance_type = instance_type_of(tmpl);
  r.region = config_.region;
  r.public_keys = plan_public_keys(tmpl, guest.ssh_public_keys);
  r.options_record = plan_metadata_options(*tmpl.ec2);
  r.options = r.options_record.resolve({});
  r.tags.clear();
  for (const auto& [k, v] : tmpl.ec2->tags) r.tags[k] = v;
  r.security_groups = tmpl.ec2->security_groups;
  a_.records->save(r);  // the journal: a rerun finds it (and the ClientToken) if we die

  std::vector<std::function<void()>> undo;
  try {
    apply_create(tmpl, options.user_ssh_key, r, resumed, undo);
  } catch (const Error& e) {
    std::string left;
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      try {
        (*it)();
      } catch (const Error& u) {
        left += std::string("; undoing failed: ") + u.what();
      }
    }
    if (left.empty()) {
      a_.records->erase(r.host.name);
      throw;
    }
    // Something is left at EC2: the record stays, so `vm delete` can finish the job.
    throw Error(e.code(), std::string(e.what()) + left + "; run `cloudtwin vm delete " +
                              r.host.name + "` to release what is left");
  }
  const auto suffix = r.host.placement.rfind(kCreating);
  if (suffix != std::string::npos) r.host.placement.erase(suffix);
  a_.records->save(r);
  return {r.host.name, VmState::Running, r};
}

void Ec2Host::apply_create(const VmTemplate& tmpl, const std::string& user_ssh_key,
                           record::Instance& r, bool resumed,
                           std::vector<std::function<void()>>& undo) {
  auto& ec2 = client();
  const auto& spec = *tmpl.ec2;
  const auto guest = plan_guest_identity(tmpl, r.host.name, r.instance_id, user_ssh_key);
  const auto keys = lines_of(guest.ssh_public_keys);

  // A rerun finds what the killed run started.
  std::optional<aws::Instance> running;
  if (resumed) {
    auto found = ec2.describe_instances({{}, {{"client-token", {r.instance_id}}}, 0});
    if (!found.empty()) running = std::move(found.front());
  }

  if (!running && !spec.keypair.empty() && r.host.imported_key_pair.empty()) {
    try {
      ec2.describe_key_pairs({spec.keypair});
    } catch (const Error& e) {
      if (!is_not_found(e)) throw;
      if (keys.empty()) {
        throw Error(ErrorCode::NotFound,
                    "EC2/KEYPAIR '" + spec.keypair + "' does not exist in " + location() +
                        " and the template gives no SSH_PUBLIC_KEY to import as it; import "
                        "one (aws ec2 import-key-pair) or add CONTEXT SSH_PUBLIC_KEY");
      }
      ec2.import_key_pair(spec.keypair, keys.front());
      r.host.imported_key_pair = spec.keypair;
      a_.records->save(r);
    }
  }

  std::vector<std::string> groups = spec.security_groups;
  if (!spec.authorized_ports.empty()) {
    if (r.host.security_group.empty()) {
      r.host.security_group = ec2.create_security_group(
          "cloudtwin-" + r.instance_id, "cloudtwin VM " + r.host.name + ": AUTHORIZED_PORTS");
      a_.records->save(r);
      undo.push_back([this, &ec2, &r] {
        if (!r.host.provider_id.empty()) wait_for(r.host.provider_id, "terminated");
        ec2.delete_security_group(r.host.security_group);
      });
      std::vector<aws::IpPermission> rules;
      for (const auto& p : spec.authorized_ports)
        rules.push_back({"tcp", p.from, p.to, "0.0.0.0/0"});
      ec2.authorize_security_group_ingress(r.host.security_group, rules);
    }
    groups.push_back(r.host.security_group);
  }

  std::string profile;
  if (tmpl.vpn && !running) {
    if (a_.vpn == nullptr || !a_.vpn->initialised()) {
      throw Error(ErrorCode::InvalidArgument,
                  "VPN = YES, but the overlay is not initialised; run `cloudtwin vpn init` first");
    }
    if (tmpl.nics.empty() || !tmpl.nics.front().ip) {
      throw Error(ErrorCode::InvalidArgument,
                  "VPN = YES on EC2 needs the overlay address of the VM: give its first NIC "
                  "an IP (NIC = [ NETWORK = \"lan\", IP = \"10.0.0.50\" ])");
    }
    if (r.host.vpn) a_.vpn->revoke(r.instance_id);  // a killed run's profile: never sent
    profile = a_.vpn->issue(r.instance_id, tmpl.nics.front().ip->to_string());
    r.host.vpn = true;
    a_.records->save(r);
    undo.push_back([this, &r] { a_.vpn->revoke(r.instance_id); });
  }

  if (!running) {
    aws::RunInstancesRequest run;
    run.image_id = spec.ami;
    run.instance_type = r.instance_type;
    run.key_name = spec.keypair;
    run.subnet_id = spec.subnet;
    run.security_group_ids = groups;
    run.client_token = r.instance_id;
    run.tags = {{"Name", r.host.name}, {"cloudtwin:instance-id", r.instance_id}};
    for (const auto& [k, v] : spec.tags) {
      if (k != "Name") run.tags.push_back({k, v});
    }
    run.metadata_options.http_tokens = spec.http_tokens;
    run.metadata_options.http_endpoint = spec.http_endpoint;
    run.metadata_options.http_put_response_hop_limit = spec.http_put_response_hop_limit;
    run.user_data = ec2_user_data({guest.hostname, keys, guest.user_data, profile});
    auto reservation = ec2.run_instances(run);
    running = std::move(reservation.instances.front());
    r.reservation_id = reservation.reservation_id;
    r.account_id = reservation.owner_id;
  }
  r.host.provider_id = running->instance_id;
  a_.records->save(r);
  undo.push_back([this, &ec2, &r] { ec2.terminate_instances({r.host.provider_id}); });

  auto up = running->state == "running" ? *running : wait_for(r.host.provider_id, "running");

  if (!spec.elastic_ip.empty() && r.host.elastic_ip_association.empty()) {
    if (spec.elastic_ip == "YES") {
      const auto address = ec2.allocate_address();
      r.host.elastic_ip_allocation = address.allocation_id;
      r.host.elastic_ip_owned = true;
      a_.records->save(r);
      undo.push_back([&ec2, &r] { ec2.release_address(r.host.elastic_ip_allocation); });
    } else {
      const auto found = ec2.describe_addresses({spec.elastic_ip});
      if (found.empty() || found.front().allocation_id.empty()) {
        throw Error(ErrorCode::NotFound, "EC2/ELASTICIP " + spec.elastic_ip +
                                             " is not an Elastic IP of the account in " +
                                             location() + "; use ELASTICIP = YES to allocate one");
      }
      r.host.elastic_ip_allocation = found.front().allocation_id;
    }
    r.host.elastic_ip_association =
        ec2.associate_address(r.host.elastic_ip_allocation, r.host.provider_id);
    a_.records->save(r);
    undo.push_back([&ec2, &r] { ec2.disassociate_address(r.host.elastic_ip_association); });
    up = ec2.describe_instances({{}, {{"instance-id", {r.host.provider_id}}}, 0}).at(0);
  }
  take_instance(r, up);
}

std::vector<std::string> Ec2Host::remove(const std::string& vm) {
  auto r = find(vm);
  std::vector<std::string> warnings;
  const auto attempt = [&](const std::string& what, const std::function<void()>& step) {
    try {
      step();
    } catch (const Error& e) {
      if (!is_not_found(e)) throw;
      warnings.push_back(what + " was already gone: " + e.what());
    }
  };
  auto& ec2 = client();
  auto& h = r.host;
  if (!h.elastic_ip_association.empty()) {
    attempt("Elastic IP association " + h.elastic_ip_association,
            [&] { ec2.disassociate_address(h.elastic_ip_association); });
    h.elastic_ip_association.clear();
    a_.records->save(r);
  }
  if (h.elastic_ip_owned && !h.elastic_ip_allocation.empty()) {
    attempt("Elastic IP " + h.elastic_ip_allocation,
            [&] { ec2.release_address(h.elastic_ip_allocation); });
    h.elastic_ip_allocation.clear();
    a_.records->save(r);
  }
  if (h.provider_id.empty()) {  // a create that died before RunInstances answered
    const auto found = ec2.describe_instances({{}, {{"client-token", {r.instance_id}}}, 0});
    if (!found.empty()) h.provider_id = found.front().instance_id;
  }
  if (!h.provider_id.empty()) {
    attempt("EC2 instance " + h.provider_id, [&] { ec2.terminate_instances({h.provider_id}); });
  }
  if (!h.security_group.empty()) {
    if (!h.provider_id.empty()) {
      attempt("EC2 instance " + h.provider_id, [&] { wait_for(h.provider_id, "terminated"); });
    }
    attempt("security group " + h.security_group,
            [&] { ec2.delete_security_group(h.security_group); });
  }
  if (h.vpn) {
    if (a_.vpn == nullptr) {
      warnings.push_back("VM had a VPN profile; revoke it with `cloudtwin vpn revoke " +
                         r.instance_id + "`");
    } else {
      attempt("VPN profile " + r.instance_id, [&] { a_.vpn->revoke(r.instance_id); });
    }
  }
  a_.records->erase(vm);
  return warnings;
}

std::vector<VmSummary> Ec2Host::refreshed(std::vector<record::Instance> records) {
  std::vector<std::string> ids;
  for (const auto& r : records) {
    if (!r.host.provider_id.empty()) ids.push_back(r.host.provider_id);
  }
  std::map<std::string, aws::Instance> live;
  if (!ids.empty()) {
    // A filter, not InstanceId.N: one id EC2 no longer knows must not fail the listing.
    for (auto& i : client().describe_instances({{}, {{"instance-id", ids}}, 0}))
      live[i.instance_id] = std::move(i);
  }
  std::vector<VmSummary> out;
  for (auto& r : records) {
    VmSummary v;
    v.name = r.host.name;
    if (r.host.provider_id.empty()) {
      v.state = VmState::Pending;  // being created, or a create that died: rerun or delete
    } else if (const auto it = live.find(r.host.provider_id); it != live.end()) {
      v.state = ec2_state(it->second.state);
      r.public_ipv4 = it->second.public_ip;
    } else {
      v.state = VmState::Terminated;
    }
    v.record = std::move(r);
    out.push_back(std::move(v));
  }
  return out;
}

VmSummary Ec2Host::show(const std::string& vm) { return refreshed({find(vm)}).front(); }

std::vector<VmSummary> Ec2Host::list() { return refreshed(a_.records->load()); }

bool Ec2Host::start(const std::string& vm) {
  const auto v = show(vm);
  if (v.state == VmState::Running) return false;
  client().start_instances({v.record->host.provider_id});
  wait_for(v.record->host.provider_id, "running");
  return true;
}

bool Ec2Host::stop(const std::string& vm, bool force) {
  const auto v = show(vm);
  if (v.state == VmState::Stopped || v.state == VmState::Stopping) return false;
  client().stop_instances({v.record->host.provider_id}, force);
  return true;
}

void Ec2Host::reboot(const std::string& vm) {
  const auto v = show(vm);
  if (v.state != VmState::Running) {
    throw Error(ErrorCode::InvalidArgument, "VM '" + vm + "' is " +
                                                std::string(to_string(v.state)) +
                                                ", not running: start it instead");
  }
  client().reboot_instances({v.record->host.provider_id});
}

Capacity Ec2Host::capacity() {
  Capacity c;
  c.host = location();
  for (const auto& [type, n] : config_.max_instances) c.instances_by_type[type] = {0, n};
  for (const auto& r : a_.records->load()) {
    // A type without a cap shows used/0: with caps set, none of it may be started.
    ++c.instances_by_type[r.instance_type].first;
  }
  return c;
}

}  // namespace cloudtwin::host
