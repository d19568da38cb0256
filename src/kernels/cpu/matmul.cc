#include "kernels/matmul.h"

#include "base/check.h"
#include "kernels/packed_bf16.h"
#include "kernels/packed_quant.h"
#include "kernels/reference/reference_kernels.h"

namespace ts {
namespace cpu::avx2 {
void MatMulImpl(const float* x, int64_t num_rows, const WeightMatrix& w, float* y,
                ThreadPool& pool);
}
namespace cpu::avx512 {
void MatMulImpl(const float* x, int64_t num_rows, const WeightMatrix& w, float* y,
                ThreadPool& pool);
}
namespace cpu::bf16 {
void MatMulPackedBf16Impl(const float* x, int64_t num_rows, const PackedBf16Matrix& w, float* y,
                          ThreadPool& pool);
}
namespace cpu::vnni {
void MatMulPackedImpl(const float* x, int64_t num_rows, const PackedQuantMatrix& w, float* y,
                      ThreadPool& pool);
}

void MatMulWithIsa(Isa isa, const float* x, int64_t num_rows, const WeightMatrix& w, float* y,
                   ThreadPool& pool) {
  if (w.is_quantized()) {
    CHECK(w.group_size % 32 == 0 && w.cols % w.group_size == 0)
        << "group_size " << w.group_size << " cols " << w.cols;
  }
  if (num_rows == 0 || w.rows == 0) return;
  if (isa != Isa::kAvx2 && w.packed_bf16 != nullptr) {
    CHECK(CpuHasAvx512Bf16()) << "bf16-packed weights need AVX512-BF16";
    cpu::bf16::MatMulPackedBf16Impl(x, num_rows, *w.packed_bf16, y, pool);
  } else if (isa == Isa::kAvx512Vnni && w.packed != nullptr) {
    cpu::vnni::MatMulPackedImpl(x, num_rows, *w.packed, y, pool);
  } else if (isa != Isa::kAvx2) {
    cpu::avx512::MatMulImpl(x, num_rows, w, y, pool);
  } else {
    cpu::avx2::MatMulImpl(x, num_rows, w, y, pool);
  }
}

void MatMul(const float* x, int64_t num_rows, const WeightMatrix& w, float* y, ThreadPool& pool) {
  MatMulWithIsa(SelectedIsa(), x, num_rows, w, y, pool);
}

void GatherRows(const WeightMatrix& w, const int32_t* ids, int64_t num_ids, float* out) {
  for (int64_t i = 0; i < num_ids; ++i) {
    CHECK(ids[i] >= 0 && ids[i] < w.rows) << "token id " << ids[i];
    for (int64_t k = 0; k < w.cols; ++k) out[i * w.cols + k] = reference::WeightAt(w, ids[i], k);
  }
}

}  // namespace ts
