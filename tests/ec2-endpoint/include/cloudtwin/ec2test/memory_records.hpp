#pragma once
// The EC2 host's records in memory, for tests and benchmarks against the endpoint. Each
// save goes through the record's JSON, as the files adapter does: what is saved must read
// back.
#include <map>
#include <string>
#include <vector>

#include "cloudtwin/host/ec2_host.hpp"

namespace cloudtwin::ec2test {

class MemoryRecords : public host::Ec2RecordStore {
 public:
  std::map<std::string, record::Instance> records;
  std::vector<record::Instance> load() override {
    std::vector<record::Instance> out;
    for (const auto& [n, r] : records) out.push_back(r);
    return out;
  }
  void save(const record::Instance& r) override {
    records[r.host.name] = record::parse_instance_json(record::instance_to_json(r), "memory");
  }
  void erase(const std::string& vm) override { records.erase(vm); }
};

}  // namespace cloudtwin::ec2test
