#pragma once
// The instance record's field table (one row per key; see table.hpp).

#include "cloudtwin/record/instance.hpp"
#include "table.hpp"

namespace cloudtwin::record {

const table::Table<Instance>& instance_fields();

}  // namespace cloudtwin::record
