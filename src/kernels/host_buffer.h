// A growable float buffer in the host memory a device copies into fastest
// (DeviceMemory::AllocateHost): where a model step's logits land, every step.
#pragma once

#include <cstddef>

#include "base/status.h"
#include "kernels/device_memory.h"

namespace ts {

class HostBuffer {
 public:
  explicit HostBuffer(DeviceMemory& memory) : memory_(&memory) {}
  ~HostBuffer();
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // Room for at least n floats; what was there before is not kept when it grows.
  Status Reserve(size_t n);
  float* data() const { return data_; }

 private:
  DeviceMemory* memory_;
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace ts
