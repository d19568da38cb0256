#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/device_memory.h"

namespace ts {
namespace {

class HostDeviceMemory final : public DeviceMemory {
 public:
  const char* name() const override { return "host"; }

  Result<void*> Allocate(size_t bytes) override {
    constexpr size_t kAlignment = 64;
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) {
      return ResourceExhausted("cannot allocate " + std::to_string(rounded) + " bytes");
    }
    // Touch every page now: start-up fails early rather than a step later, page faults never
    // land in a model step or an SSD load, and unwritten memory reads as zeros, not garbage.
    std::memset(p, 0, rounded);
    return p;
  }
  void Free(void* p) override { std::free(p); }
  void CopyToHost(void* host_dst, const void* src, size_t bytes) override {
    std::memcpy(host_dst, src, bytes);
  }
  void CopyFromHost(void* dst, const void* host_src, size_t bytes) override {
    std::memcpy(dst, host_src, bytes);
  }
};

}  // namespace

DeviceMemory& HostMemory() {
  static HostDeviceMemory memory;
  return memory;
}

}  // namespace ts
