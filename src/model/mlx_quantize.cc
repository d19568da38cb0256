#include "model/mlx_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/half.h"

namespace ts {
namespace {

void StoreFloat(float v, DType dtype, uint8_t* out) {
  if (dtype == DType::kF32) {
    std::memcpy(out, &v, 4);
    return;
  }
  uint16_t h = dtype == DType::kF16 ? F32ToF16(v) : F32ToBf16(v);
  std::memcpy(out, &h, 2);
}

}  // namespace

QuantizedMatrix MlxQuantize(const float* w, int64_t rows, int64_t cols, int bits, int group_size,
                            DType float_dtype) {
  CHECK(bits == 4 || bits == 8);
  CHECK_EQ(cols % group_size, 0);
  const int64_t groups = cols / group_size;
  const size_t fbytes = DTypeBytes(float_dtype);
  const float n_bins = static_cast<float>((1 << bits) - 1);
  QuantizedMatrix out;
  out.packed.assign(static_cast<size_t>(rows * cols * bits / 8), 0);
  out.scales.resize(static_cast<size_t>(rows * groups) * fbytes);
  out.biases.resize(out.scales.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* x = w + r * cols + g * group_size;
      const float w_min = *std::min_element(x, x + group_size);
      const float w_max = *std::max_element(x, x + group_size);
      float scale = std::max((w_max - w_min) / n_bins, 1e-7f);
      const bool side = std::fabs(w_min) > std::fabs(w_max);
      scale = side ? scale : -scale;
      const float edge = side ? w_min : w_max;
      const float q0 = std::rint(edge / scale);
      float bias = 0.f;
      if (q0 != 0.f) {
        scale = edge / q0;
        bias = edge;
      }
      for (int64_t i = 0; i < group_size; ++i) {
        const float q = std::clamp(std::rint((x[i] - bias) / scale), 0.f, n_bins);
        const int64_t col = g * group_size + i;
        const auto qi = static_cast<uint32_t>(q);
        uint8_t* row = out.packed.data() + r * cols * bits / 8;
        if (bits == 8) {
          row[col] = static_cast<uint8_t>(qi);
        } else {
          row[col / 2] |= static_cast<uint8_t>(qi << (4 * (col % 2)));
        }
      }
      const size_t at = static_cast<size_t>(r * groups + g) * fbytes;
      StoreFloat(scale, float_dtype, out.scales.data() + at);
      StoreFloat(bias, float_dtype, out.biases.data() + at);
    }
  }
  return out;
}

}  // namespace ts
