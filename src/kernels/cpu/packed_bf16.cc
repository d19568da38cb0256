#include "kernels/packed_bf16.h"

#include <cstdlib>
#include <cstring>

#include "base/check.h"
#include "base/large_alloc.h"

namespace ts {

PackedBf16Matrix::PackedBf16Matrix(const WeightMatrix& w)
    : rows_(w.rows), cols_(w.cols), data_(nullptr, std::free) {
  CHECK(CanPack(w)) << "format " << static_cast<int>(w.format);
  const size_t words = static_cast<size_t>(row_blocks() * pairs() * kLanes);
  data_.reset(static_cast<uint32_t*>(AllocateLarge(words * sizeof(uint32_t))));
  CHECK(data_ != nullptr) << "out of memory packing a " << rows_ << "x" << cols_ << " matrix";
  std::memset(data_.get(), 0, words * sizeof(uint32_t));
  const auto* src = static_cast<const uint16_t*>(w.data);
  for (int64_t row = 0; row < rows_; ++row) {
    uint32_t* lane = data_.get() + (row / kLanes) * pairs() * kLanes + row % kLanes;
    const uint16_t* r = src + row * cols_;
    for (int64_t k = 0; k < cols_; ++k) {
      lane[(k / 2) * kLanes] |= static_cast<uint32_t>(r[k]) << (16 * (k % 2));
    }
  }
}

}  // namespace ts
