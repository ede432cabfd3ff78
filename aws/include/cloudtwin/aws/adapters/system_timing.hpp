#pragma once
// Ec2Timing from the system clock, a real sleep and a seeded PRNG for the jitter.

#include <random>

#include "cloudtwin/aws/ec2_client.hpp"

namespace cloudtwin::aws {

class SystemTiming : public Ec2Timing {
 public:
  SystemTiming();
  std::string amz_date() override;
  void sleep(std::chrono::milliseconds duration) override;
  double random_unit() override;

 private:
  std::mt19937_64 random_;
};

}  // namespace cloudtwin::aws
