// Error handling for CUDA and cuBLAS calls: CUDA_CHECK for what cannot fail in a correct
// program (aborts with the call and the error), CUDA_RETURN_IF_ERROR where the caller can
// fail one step and keep serving.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "base/check.h"
#include "base/status.h"

namespace ts {

inline Status CudaStatus(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Internal(std::string(what) + ": " + cudaGetErrorString(e));
}
inline Status CublasStatus(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return Internal(std::string(what) + ": " + cublasGetStatusString(e));
}

}  // namespace ts

#define CUDA_CHECK(call)                                           \
  do {                                                             \
    const cudaError_t cuda_check_error_ = (call);                  \
    CHECK(cuda_check_error_ == cudaSuccess)                        \
        << #call << ": " << cudaGetErrorString(cuda_check_error_); \
  } while (false)

#define CUDA_RETURN_IF_ERROR(call) RETURN_IF_ERROR(::ts::CudaStatus((call), #call))
#define CUBLAS_RETURN_IF_ERROR(call) RETURN_IF_ERROR(::ts::CublasStatus((call), #call))
