#include "cloudtwin/aws/adapters/system_timing.hpp"

#include <thread>

#include "cloudtwin/aws/sigv4.hpp"

namespace cloudtwin::aws {

SystemTiming::SystemTiming() : random_(std::random_device{}()) {}

std::string SystemTiming::amz_date() {
  const auto now = std::chrono::system_clock::now();
  return aws::amz_date(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

void SystemTiming::sleep(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

double SystemTiming::random_unit() { return std::uniform_real_distribution<double>(0, 1)(random_); }

}  // namespace cloudtwin::aws
