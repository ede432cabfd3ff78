// `cloudtwin cloud add ec2 ...` and `cloudtwin cloud list`: the hosts of the cloud.
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/aws/uri.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/json.hpp"
#include "hosts.hpp"

namespace cloudtwin::host {
namespace {

record::Json capacity_json(const PlacementCandidate& p) {
  const auto& c = p.capacity;
  record::Json types = record::Json::object();
  for (const auto& [type, n] : c.instances_by_type)
    types[type] = {{"used", n.first}, {"allowed", n.second}};
  record::Json out = {{"name", p.name}, {"kind", p.kind}, {"location", c.host}};
  if (p.kind == "ec2") {
    out["instances"] = std::move(types);
  } else {
    out["vcpu"] = {{"used", c.vcpu_used}, {"allowed", c.vcpu_allowed}};
    out["memory-mib"] = {{"used", c.memory_mib_used}, {"allowed", c.memory_mib_allowed}};
  }
  return out;
}

int cloud_add(const Args& a, CliContext& ctx, const std::string& config_path) {
  if (a.positional.size() != 1 || a.positional[0] != "ec2")
    throw UsageError{"cloud add takes one kind of host: ec2"};
  const auto region = a.option("--region");
  if (region.empty()) throw UsageError{"cloud add ec2 needs --region (e.g. eu-west-1)"};
  std::vector<std::pair<std::string, std::string>> values = {{"region", region}};
  if (const auto e = a.option("--endpoint"); !e.empty()) {
    (void)aws::parse_url(e);  // refuse a malformed URL now, not at the first vm create
    values.emplace_back("endpoint", e);
  }
  if (const auto p = a.option("--profile"); !p.empty()) values.emplace_back("profile", p);
  if (!ctx.env.write_file) throw Error(ErrorCode::InvalidArgument, "cannot write " + config_path);
  const auto text = ctx.env.read_file(config_path).value_or("");
  const auto updated = set_ini_values(text, "ec2", values);
  ctx.config = parse_host_conf(updated, config_path);  // what was written must read back
  ctx.env.write_file(config_path, updated, 0644);
  ctx.out << "added ec2 (ec2:" << region << ") to " << config_path << "\n";
  if (ctx.env.ec2) {
    try {  // where credentials will come from: the source only, never the secret
      ctx.out << "credentials: " << ctx.env.ec2(ctx.config.ec2).credentials().source << "\n";
    } catch (const Error& e) {
      ctx.err << "cloudtwin: warning: " << e.what() << "\n";
    }
  }
  return 0;
}

}  // namespace

int run_cloud(const std::string& verb, const Args& a, CliContext& ctx,
              const std::string& config_path) {
  if (verb == "add") return cloud_add(a, ctx, config_path);
  if (verb != "list") throw UsageError{"unknown cloud subcommand '" + verb + "'"};
  if (!a.positional.empty()) throw UsageError{"cloud list takes no arguments"};
  Hosts hosts(ctx);
  if (a.json()) {
    record::Json out = record::Json::array();
    for (const auto& c : hosts.candidates()) out.push_back(capacity_json(c));
    ctx.out << record::dump(out) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"HOST", "KIND", "LOCATION", "CAPACITY (used/allowed)"}};
  for (const auto& c : hosts.candidates())
    rows.push_back({c.name, c.kind, c.capacity.host, capacity_text(c)});
  print_table(ctx.out, rows);
  return 0;
}

}  // namespace cloudtwin::host
