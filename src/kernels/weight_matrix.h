// WeightMatrix: a borrowed view of one stored weight matrix W[rows][cols] (rows = output
// features N, cols = input features K), in the format it has on disk. Kernels read it in place.
//
// Quantized formats are MLX affine group quantization: along each row, groups of group_size
// elements share a scale and a bias, w = scale * q + bias. q is packed into little-endian
// uint32 words, low bits first: for 8 bits element j of a row is byte j, for 4 bits it is the
// low nibble of byte j/2 when j is even and the high nibble when j is odd.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ts {

class PackedBf16Matrix;
class PackedQuantMatrix;

enum class WeightFormat : uint8_t { kF32, kF16, kBf16, kQ8, kQ4 };
// Element type of the scales and biases of quantized formats.
enum class ScaleType : uint8_t { kF32, kF16, kBf16 };

struct WeightMatrix {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;            // N
  int64_t cols = 0;            // K
  const void* data = nullptr;  // [rows][cols] elements, or packed quants [rows][cols*bits/8] bytes
  // Quantized only: [rows][cols / group_size] each.
  const void* scales = nullptr;
  const void* biases = nullptr;
  ScaleType scale_type = ScaleType::kBf16;
  int32_t group_size = 0;
  // Quantized only, optional: the same matrix repacked for int8 dot products, owned by whoever
  // holds the weights (the CPU model); the VNNI kernels use it when present.
  const PackedQuantMatrix* packed = nullptr;
  // bf16 only, optional: the same matrix repacked for bf16 dot products (--bf16-activations);
  // the AVX512-BF16 kernel uses it when present, rounding activations to bf16.
  const PackedBf16Matrix* packed_bf16 = nullptr;

  bool is_quantized() const { return format == WeightFormat::kQ8 || format == WeightFormat::kQ4; }
  int bits() const { return format == WeightFormat::kQ8 ? 8 : 4; }
  // Bytes of one row of data.
  size_t row_bytes() const {
    switch (format) {
      case WeightFormat::kF32:
        return static_cast<size_t>(cols) * 4;
      case WeightFormat::kF16:
      case WeightFormat::kBf16:
        return static_cast<size_t>(cols) * 2;
      case WeightFormat::kQ8:
        return static_cast<size_t>(cols);
      case WeightFormat::kQ4:
        return static_cast<size_t>(cols) / 2;
    }
    return 0;
  }
  // Bytes read from memory for one pass over the matrix (data plus scales and biases).
  size_t total_bytes() const {
    size_t bytes = row_bytes() * static_cast<size_t>(rows);
    if (is_quantized()) {
      size_t per = scale_type == ScaleType::kF32 ? 4 : 2;
      bytes += 2 * per * static_cast<size_t>(rows) * static_cast<size_t>(cols / group_size);
    }
    return bytes;
  }
};

}  // namespace ts
