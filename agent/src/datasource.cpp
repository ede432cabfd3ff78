#include "cloudtwin/agent/datasource.hpp"

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

ProbeResult probe_datasources(const std::vector<std::unique_ptr<Datasource>>& sources,
                              const std::function<void(Datasource&)>& before) {
  ProbeResult result;
  for (const auto& source : sources) {
    try {
      if (before) before(*source);
      if (source->probe()) {
        result.found = source.get();
        return result;
      }
      result.not_found.push_back(source->name());
    } catch (const Error& e) {
      result.errors.push_back(source->name() + ": " + e.what());
    }
  }
  return result;
}

}  // namespace cloudtwin::agent
