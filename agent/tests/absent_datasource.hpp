#pragma once
// A datasource that is never there: probing order and reports without a real source.
#include <string>
#include <utility>

#include "cloudtwin/agent/datasource.hpp"

namespace cloudtwin::agent::testing {

class AbsentDatasource : public Datasource {
 public:
  explicit AbsentDatasource(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  bool probe() override { return false; }

 private:
  std::string name_;
};

}  // namespace cloudtwin::agent::testing
