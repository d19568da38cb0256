#include <cstdlib>
#include <cstring>
#include <string>

#include "base/large_alloc.h"
#include "kernels/device_memory.h"

namespace ts {
namespace {

class HostDeviceMemory final : public DeviceMemory {
 public:
  const char* name() const override { return "host"; }

  Result<void*> Allocate(size_t bytes) override {
    void* p = AllocateLarge(bytes);
    if (p == nullptr) {
      return ResourceExhausted("cannot allocate " + std::to_string(bytes) + " bytes");
    }
    // Touch every page now: start-up fails early rather than a step later, page faults never
    // land in a model step or an SSD load, and unwritten memory reads as zeros, not garbage.
    std::memset(p, 0, bytes);
    return p;
  }
  void Free(void* p) override { std::free(p); }
  Result<void*> AllocateHost(size_t bytes) override {
    void* p = AllocateLarge(bytes);
    if (p == nullptr) {
      return ResourceExhausted("cannot allocate " + std::to_string(bytes) + " bytes");
    }
    return p;
  }
  void FreeHost(void* p) override { std::free(p); }
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
