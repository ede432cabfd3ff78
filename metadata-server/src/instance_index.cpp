#include <algorithm>
#include <set>

#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

std::vector<std::string> InstanceIndex::build(
    const std::vector<std::shared_ptr<const ServedInstance>>& served) {
  std::vector<std::string> problems;
  std::set<std::pair<std::string, std::string>> conflicted;
  std::set<std::string> ids;
  by_key_.clear();
  all_.clear();
  for (const auto& s : served) {
    if (!ids.insert(s->instance.instance_id).second) {
      problems.push_back("instance-id " + s->instance.instance_id +
                         " is used by two records; one is ignored");
      continue;
    }
    all_.push_back(s);
    for (const auto& address : s->instance.caller_addresses()) {
      auto key = std::make_pair(s->instance.network, address);
      if (conflicted.count(key)) continue;
      const auto [it, inserted] = by_key_.emplace(key, s);
      if (!inserted) {
        problems.push_back("address " + address + " on network '" + s->instance.network +
                           "' is claimed by " + it->second->instance.instance_id + " and " +
                           s->instance.instance_id + "; neither is served there");
        by_key_.erase(it);
        conflicted.insert(key);
      }
    }
  }
  count_ = ids.size();
  std::sort(all_.begin(), all_.end(), [](const auto& a, const auto& b) {
    return a->instance.instance_id < b->instance.instance_id;
  });
  return problems;
}

std::shared_ptr<const ServedInstance> InstanceIndex::find(std::string_view listener,
                                                          std::string_view address) const {
  if (!listener.empty()) {
    if (const auto it = by_key_.find(std::make_pair(std::string(listener), std::string(address)));
        it != by_key_.end()) {
      return it->second;
    }
  }
  const auto it = by_key_.find(std::make_pair(std::string(), std::string(address)));
  return it == by_key_.end() ? nullptr : it->second;
}

}  // namespace cloudtwin::metadata
