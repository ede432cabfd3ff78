#pragma once
// Benchmarks register pairs (ours, reference); ratio_main.cpp runs them all and
// prints "reference / ours" for each pair after Google Benchmark's own table.
#include <string>
#include <vector>

namespace cloudtwin::bench {

struct RatioPair {
  std::string ours;       // benchmark name, e.g. "BM_ParseContextSh"
  std::string reference;  // e.g. "BM_BashSourceContextSh"
  std::string what;       // printed label
};

std::vector<RatioPair>& ratio_pairs();

inline bool register_ratio(RatioPair pair) {
  ratio_pairs().push_back(std::move(pair));
  return true;
}

}  // namespace cloudtwin::bench
