// Device memory for the CUDA backend: the DeviceMemory the KV pool lives in, and CudaBuffer,
// an owned device allocation for weights and activations.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "base/status.h"
#include "kernels/device_memory.h"

namespace ts {

// Number of usable CUDA devices; 0 without a driver or a device.
int CudaDeviceCount();

// Memory of the current device. Copies run on a stream of their own, separate from the
// model's compute stream, and return when the bytes have arrived.
class CudaMemory final : public DeviceMemory {
 public:
  CudaMemory();
  ~CudaMemory() override;
  const char* name() const override { return "cuda:0"; }
  Result<void*> Allocate(size_t bytes) override;
  void Free(void* p) override;
  Result<void*> AllocateHost(size_t bytes) override;
  void FreeHost(void* p) override;
  void CopyToHost(void* host_dst, const void* src, size_t bytes) override;
  void CopyFromHost(void* dst, const void* host_src, size_t bytes) override;

 private:
  cudaStream_t copy_stream_ = nullptr;
};

// An owned device allocation (not zeroed).
class CudaBuffer {
 public:
  CudaBuffer() = default;
  static Result<CudaBuffer> Allocate(size_t bytes);
  ~CudaBuffer();
  CudaBuffer(CudaBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace ts
