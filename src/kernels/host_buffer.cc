#include "kernels/host_buffer.h"

#include <algorithm>

namespace ts {

HostBuffer::~HostBuffer() {
  if (data_ != nullptr) memory_->FreeHost(data_);
}

Status HostBuffer::Reserve(size_t n) {
  if (n <= capacity_) return Status::Ok();
  // Doubling: a server's batches grow step by step to their peak, each growth a new
  // page-locked allocation.
  const size_t capacity = std::max(n, 2 * capacity_);
  ASSIGN_OR_RETURN(void* p, memory_->AllocateHost(capacity * sizeof(float)));
  if (data_ != nullptr) memory_->FreeHost(data_);
  data_ = static_cast<float*>(p);
  capacity_ = capacity;
  return Status::Ok();
}

}  // namespace ts
