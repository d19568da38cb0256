// Matrix multiplication against stored weights: y[t][n] = sum_k x[t][k] * W[n][k].
//
// One kernel serves prefill and decode: tiles of kRowsPerTile activation rows by a few weight
// rows, each accumulator one output element, accumulated over k in the same order whatever
// the tile or batch holds. So a row's output is bitwise identical whether it is computed alone
// or among other rows (batch invariance), for a given instruction set.
//
// Runtime dispatch picks the widest instruction set this CPU has (kernels/isa.h). With
// AVX512-VNNI, a quantized matrix whose `packed` form is set is multiplied by activations
// rounded per group to int16 or int8 instead (kernels/packed_quant.h, cpu/matmul_vnni.cc);
// it is batch-invariant in the same sense.
#pragma once

#include <cstdint>

#include "kernels/isa.h"
#include "kernels/weight_matrix.h"

namespace ts {

class ThreadPool;

// REQUIRES: quantized formats have cols % group_size == 0 and group_size % 32 == 0.
void MatMul(const float* x, int64_t num_rows, const WeightMatrix& w, float* y, ThreadPool& pool);
void MatMulWithIsa(Isa isa, const float* x, int64_t num_rows, const WeightMatrix& w, float* y,
                   ThreadPool& pool);

// out[i][k] = W[ids[i]][k], dequantized to f32 (embedding lookup).
void GatherRows(const WeightMatrix& w, const int32_t* ids, int64_t num_ids, float* out);

}  // namespace ts
