#include "cloudtwin/agent/datasource_registry.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/metadata_cache.hpp"
#include "cloudtwin/agent/nocloud.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

constexpr std::chrono::milliseconds kDeviceRetry{100};

ContextCdOptions seed_options(const SourceRun& run, const std::optional<std::string>& location) {
  ContextCdOptions o;
  o.device = location;
  o.attempts = run.stage == "final" ? 1 : run.device_attempts;
  o.retry_delay = kDeviceRetry;
  return o;
}

std::unique_ptr<Datasource> make_context_cd(SourceRun& run, const AgentConfig& /*config*/,
                                            const std::optional<std::string>& location) {
  return std::make_unique<ContextCdDatasource>(*run.locator, run.open_disk,
                                               seed_options(run, location));
}

std::unique_ptr<Datasource> make_nocloud(SourceRun& run, const AgentConfig& /*config*/,
                                         const std::optional<std::string>& location) {
  auto seed = seed_options(run, location);
  seed.label = "cidata";
  return std::make_unique<NoCloudDatasource>(*run.locator, run.open_disk, seed);
}

// --- EC2: `final` replays `local`'s crawl of this boot (see metadata_cache.hpp) ---------

// Under --root: 0600 in a 0700 directory under /run (gone at reboot).
constexpr const char* kCrawlCache = "/run/cloudtwin-agent/ec2-metadata.json";

// The kernel's id of this boot: a crawl cached in another boot is never replayed.
std::string boot_id() {
  return std::string(core::trim(read_or_empty("/proc/sys/kernel/random/boot_id")));
}

std::map<std::string, MetadataResponse> load_crawl(const std::filesystem::path& root,
                                                   const std::string& endpoint) {
  const auto path = under_root(root, kCrawlCache);
  const std::string text = read_or_empty(path);
  if (text.empty()) return {};
  try {
    auto cache = parse_metadata_cache(text, path.string());
    if (cache.boot_id != boot_id() || cache.boot_id.empty() || cache.endpoint != endpoint)
      return {};
    return std::move(cache.responses);
  } catch (const Error&) {
    return {};  // a broken cache is no cache: crawl again
  }
}

void save_crawl(const std::filesystem::path& root, const CachingMetadataClient& cache,
                std::ostream& err) {
  if (cache.recorded().empty()) return;
  try {
    const auto path = under_root(root, kCrawlCache);
    std::filesystem::create_directories(path.parent_path());
    std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all);
    write_file_atomic(path, render_metadata_cache({boot_id(), cache.endpoint(), cache.recorded()}),
                      0600);
  } catch (const std::exception& e) {
    err << "cloudtwin-agent: cannot keep the metadata crawl for `final` (it will ask again): "
        << e.what() << "\n";
  }
}

// The MACs of this machine's links that carry the host's prefix (sorted, lowercase): the
// NICs a cloudtwin host gave the VM, which its metadata lists (Ec2Options::local_macs).
std::vector<std::string> prefixed_macs(const core::MacPrefix& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& link : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    const std::string text = read_or_empty(link.path() / "address");
    try {
      const auto mac = core::Mac::parse(core::trim(text));
      if (core::mac_has_prefix(mac, prefix)) out.push_back(mac.to_string());
    } catch (const Error&) {
      // not an Ethernet address (lo's is all zeros and has no prefix; tunnels have none)
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Datasource> make_ec2(SourceRun& run, const AgentConfig& config,
                                     const std::optional<std::string>& location) {
  auto endpoints = location ? std::vector<MetadataEndpoint>{parse_metadata_url(*location)}
                            : default_metadata_endpoints();
  run.clients.push_back(run.metadata_client(
      std::move(endpoints), std::chrono::seconds(setting(config, "datasources.metadata_timeout"))));
  MetadataClient& live = *run.clients.back();
  const bool final = run.stage == "final";
  auto caching = std::make_unique<CachingMetadataClient>(
      live,
      final ? load_crawl(run.root, live.endpoint()) : std::map<std::string, MetadataResponse>{});
  if (!final) {
    run.after_local.emplace_back([root = run.root, cache = caching.get()](std::ostream& err) {
      save_crawl(root, *cache, err);
    });
  }
  run.clients.push_back(std::move(caching));
  Ec2Options ec2;
  ec2.allow_imdsv1 = setting(config, "ec2.allow_imdsv1") != 0;
  ec2.token_ttl = setting(config, "ec2.token_ttl");
  // `final` runs after network-online: the service answers now or not at all.
  ec2.max_wait = final ? std::chrono::milliseconds(0)
                       : std::chrono::seconds(setting(config, "datasources.metadata_max_wait"));
  // The same guess in both stages: `final` then asks exactly what `local` kept.
  ec2.local_macs = [prefix = config.mac_prefix] { return prefixed_macs(prefix); };
  return std::make_unique<Ec2Datasource>(*run.clients.back(), ec2);
}

}  // namespace

const std::vector<DatasourceKind>& datasource_kinds() {
  static const std::vector<DatasourceKind> kinds{
      {"context",
       "OpenNebula-style context CD (ISO 9660 labelled CONTEXT, context.sh)",
       "--context-device",
       "read the context CD from this device or ISO file",
       true,
       {},
       make_context_cd},
      {"nocloud",
       "NoCloud seed (labelled cidata: meta-data, user-data, network-config)",
       "--nocloud-device",
       "read the NoCloud seed (cidata) from this device or ISO file",
       true,
       {},
       make_nocloud},
      {"ec2",
       "EC2 instance metadata (IMDSv2) at 169.254.169.254 / [fd00:ec2::254]",
       "--metadata-url",
       "EC2 metadata service, e.g. http://127.0.0.1:8080 (an IP, never a name)",
       false,
       {{"datasources.metadata_timeout", 1, 60, 2},
        {"datasources.metadata_max_wait", 0, 3600, 60},
        {"ec2.allow_imdsv1", 0, 1, 0, true},
        {"ec2.token_ttl", 1, 21600, 21600}},
       make_ec2},
  };
  return kinds;
}

std::vector<std::string> datasource_names() {
  std::vector<std::string> names;
  for (const auto& k : datasource_kinds()) names.emplace_back(k.name);
  return names;
}

int setting(const AgentConfig& config, std::string_view key) {
  for (const auto& kind : datasource_kinds()) {
    for (const auto& spec : kind.settings) {
      if (spec.key == key) return setting_value(config, spec);
    }
  }
  throw Error(ErrorCode::InvalidArgument,
              "agent.conf key '" + std::string(key) + "' is read but no datasource declares it");
}

void check_datasource_config(const AgentConfig& config) {
  check_order(config, datasource_names());
  for (const auto& kind : datasource_kinds()) {
    for (const auto& spec : kind.settings) (void)setting_value(config, spec);
  }
}

std::vector<std::unique_ptr<Datasource>> make_datasources(
    SourceRun& run, const AgentConfig& config,
    const std::map<std::string, std::string>& locations) {
  const auto& kinds = datasource_kinds();
  const auto location_of = [&](std::string_view name) -> std::optional<std::string> {
    const auto it = locations.find(std::string(name));
    return it == locations.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const bool disk_given = std::any_of(kinds.begin(), kinds.end(), [&](const DatasourceKind& k) {
    return k.location_is_disk && location_of(k.name);
  });
  std::vector<std::unique_ptr<Datasource>> sources;
  for (const auto& name : config.order.value_or(datasource_names())) {
    const auto kind = std::find_if(kinds.begin(), kinds.end(),
                                   [&](const DatasourceKind& k) { return k.name == name; });
    if (kind == kinds.end())
      throw Error(ErrorCode::InvalidArgument, "unknown datasource '" + name + "'");
    const auto location = location_of(kind->name);
    if (disk_given && !location) continue;  // a given disk is where to look, and only there
    sources.push_back(kind->make(run, config, location));
  }
  return sources;
}

}  // namespace cloudtwin::agent
