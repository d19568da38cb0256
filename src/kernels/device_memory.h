// DeviceMemory: where a large buffer (the KV pool) lives and how bytes move between it and
// ordinary host memory. The host implementation is plain aligned memory; the CUDA one
// (kernels/cuda/cuda_memory.h) is device memory. Copies block the calling thread until done,
// and may be called from any thread (the SSD tier's I/O thread copies blocks).
#pragma once

#include <cstddef>

#include "base/status.h"

namespace ts {

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  // A name for messages ("host", "cuda:0").
  virtual const char* name() const = 0;
  // Zeroed memory, aligned to at least 64 bytes.
  virtual Result<void*> Allocate(size_t bytes) = 0;
  virtual void Free(void* p) = 0;
  virtual void CopyToHost(void* host_dst, const void* src, size_t bytes) = 0;
  // Host memory this device copies into and out of fastest: page-locked for a GPU (a copy
  // into pageable memory runs at a quarter of the speed), ordinary for the host. Aligned to
  // 64 bytes, not zeroed. Release with FreeHost.
  virtual Result<void*> AllocateHost(size_t bytes) = 0;
  virtual void FreeHost(void* p) = 0;
  virtual void CopyFromHost(void* dst, const void* host_src, size_t bytes) = 0;
};

// The process's host memory (a static instance).
DeviceMemory& HostMemory();

}  // namespace ts
