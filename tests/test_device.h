// The device model tests run on. The `gpu` ctest label runs the model and engine tests again
// with TS_TEST_DEVICE=cuda; there every test skips cleanly when the build or the machine has no
// CUDA device.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "model/model.h"

namespace ts {

inline Device TestDevice() {
  const char* d = std::getenv("TS_TEST_DEVICE");
  return d != nullptr && std::string(d) == "cuda" ? Device::kCuda : Device::kCpu;
}

// Registered by every test binary that includes this header: skips all its tests when a CUDA
// run finds no device.
class TestDeviceEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (TestDevice() == Device::kCuda && !DeviceAvailable(Device::kCuda)) {
      GTEST_SKIP() << "TS_TEST_DEVICE=cuda but no CUDA device is available";
    }
  }
};
inline ::testing::Environment* const kTestDeviceEnvironment =
    ::testing::AddGlobalTestEnvironment(new TestDeviceEnvironment);

}  // namespace ts
