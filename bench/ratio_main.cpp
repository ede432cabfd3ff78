#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>

#include "ratio.hpp"

namespace cloudtwin::bench {

std::vector<RatioPair>& ratio_pairs() {
  static std::vector<RatioPair> pairs;
  return pairs;
}

namespace {

// Keeps each benchmark's real time per iteration (ns) while printing as usual.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Iteration && run.iterations > 0) {
        times_[run.benchmark_name()] =
            run.GetAdjustedRealTime() * (run.time_unit == benchmark::kNanosecond    ? 1.0
                                         : run.time_unit == benchmark::kMicrosecond ? 1e3
                                         : run.time_unit == benchmark::kMillisecond ? 1e6
                                                                                    : 1e9);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& times() const { return times_; }

 private:
  std::map<std::string, double> times_;
};

}  // namespace
}  // namespace cloudtwin::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cloudtwin::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\n");
  for (const auto& pair : cloudtwin::bench::ratio_pairs()) {
    const auto& t = reporter.times();
    const auto ours = t.find(pair.ours);
    const auto ref = t.find(pair.reference);
    if (ours == t.end() || ref == t.end() || ours->second <= 0) continue;
    std::printf("RATIO %-48s reference/cloudtwin = %10.1fx  (%.0f ns vs %.0f ns)\n",
                pair.what.c_str(), ref->second / ours->second, ref->second, ours->second);
  }
  return 0;
}
