#include "kernels/cuda/cuda_memory.h"

#include <string>

#include "kernels/cuda/cuda_check.h"

namespace ts {

int CudaDeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

CudaMemory::CudaMemory() {
  CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
}

CudaMemory::~CudaMemory() { cudaStreamDestroy(copy_stream_); }

Result<void*> CudaMemory::Allocate(size_t bytes) {
  void* p = nullptr;
  if (cudaError_t e = cudaMalloc(&p, bytes); e != cudaSuccess) {
    cudaGetLastError();
    return ResourceExhausted("cannot allocate " + std::to_string(bytes) +
                             " bytes of device memory: " + cudaGetErrorString(e));
  }
  // Synchronous, so the zeros are there before any stream reads the memory.
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, copy_stream_));
  CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
  return p;
}

void CudaMemory::Free(void* p) { CUDA_CHECK(cudaFree(p)); }

Result<void*> CudaMemory::AllocateHost(size_t bytes) {
  void* p = nullptr;
  if (cudaError_t e = cudaMallocHost(&p, bytes); e != cudaSuccess) {
    cudaGetLastError();
    return ResourceExhausted("cannot allocate " + std::to_string(bytes) +
                             " bytes of page-locked host memory: " + cudaGetErrorString(e));
  }
  return p;
}

void CudaMemory::FreeHost(void* p) { CUDA_CHECK(cudaFreeHost(p)); }

void CudaMemory::CopyToHost(void* host_dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, copy_stream_));
  CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
}

void CudaMemory::CopyFromHost(void* dst, const void* host_src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, copy_stream_));
  CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
}

Result<CudaBuffer> CudaBuffer::Allocate(size_t bytes) {
  CudaBuffer b;
  if (bytes == 0) return b;
  if (cudaError_t e = cudaMalloc(&b.ptr_, bytes); e != cudaSuccess) {
    cudaGetLastError();
    return ResourceExhausted("cannot allocate " + std::to_string(bytes) +
                             " bytes of device memory: " + cudaGetErrorString(e));
  }
  b.bytes_ = bytes;
  return b;
}

CudaBuffer::~CudaBuffer() {
  if (ptr_ != nullptr) cudaFree(ptr_);
}

}  // namespace ts
