#include "model/weight_shard.h"

#include <cstring>
#include <string>

#include "base/check.h"

namespace ts {
namespace {

size_t ScaleBytes(const WeightMatrix& w) { return w.scale_type == ScaleType::kF32 ? 4 : 2; }

// Bytes of `cols` elements of one row of w's data.
size_t DataBytes(const WeightMatrix& w, int64_t cols) {
  WeightMatrix narrow = w;
  narrow.cols = cols;
  return narrow.row_bytes();
}

// Copies bytes [begin, begin + width) of each of `rows` rows of `stride` bytes.
const uint8_t* CopyColumns(const void* src, int64_t rows, size_t stride, size_t begin, size_t width,
                           std::vector<std::unique_ptr<uint8_t[]>>* owned) {
  auto out = std::make_unique<uint8_t[]>(static_cast<size_t>(rows) * width);
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out.get() + static_cast<size_t>(r) * width,
                in + static_cast<size_t>(r) * stride + begin, width);
  }
  owned->push_back(std::move(out));
  return owned->back().get();
}

Linear RowShard(const Linear& l, int64_t begin, int64_t end) {
  Linear out;
  out.weight = RowSlice(l.weight, begin, end);
  if (!l.bias.empty()) out.bias.assign(l.bias.begin() + begin, l.bias.begin() + end);
  return out;
}

Linear ColumnShard(const Linear& l, int64_t begin, int64_t end, bool keep_bias,
                   std::vector<std::unique_ptr<uint8_t[]>>* owned) {
  Linear out;
  out.weight = ColumnSlice(l.weight, begin, end, owned);
  if (keep_bias) out.bias = l.bias;
  return out;
}

}  // namespace

void VocabRange(int32_t vocab, int rank, int size, int32_t* begin, int32_t* end) {
  *begin = static_cast<int32_t>(static_cast<int64_t>(vocab) * rank / size);
  *end = static_cast<int32_t>(static_cast<int64_t>(vocab) * (rank + 1) / size);
}

Result<ShardDims> ShardDimsFor(const ModelConfig& c, const ModelWeights& w, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size) return InvalidArgument("bad rank or group size");
  auto fail = [&](const std::string& what, int64_t n) {
    return InvalidArgument("--tensor-parallel " + std::to_string(size) + ": the model's " + what +
                           " (" + std::to_string(n) + ") do not split evenly over " +
                           std::to_string(size) + " ranks");
  };
  if (c.num_heads % size != 0) return fail("attention heads", c.num_heads);
  if (c.num_kv_heads % size != 0) return fail("KV heads", c.num_kv_heads);
  if (c.intermediate_size % size != 0) return fail("MLP columns", c.intermediate_size);
  ShardDims d;
  d.num_heads = c.num_heads / size;
  d.num_kv_heads = c.num_kv_heads / size;
  d.intermediate_size = c.intermediate_size / size;
  VocabRange(c.vocab_size, rank, size, &d.vocab_begin, &d.vocab_end);
  for (const LayerWeights& l : w.layers) {
    for (const WeightMatrix* m : {&l.o.weight, &l.down.weight}) {
      if (m->is_quantized() && (m->cols / size) % m->group_size != 0) {
        return InvalidArgument(
            "--tensor-parallel " + std::to_string(size) + ": a rank's " +
            std::to_string(m->cols / size) +
            " input columns of o_proj/down_proj would cut quantization groups of " +
            std::to_string(m->group_size));
      }
    }
  }
  return d;
}

WeightMatrix RowSlice(const WeightMatrix& w, int64_t begin, int64_t end) {
  CHECK(0 <= begin && begin <= end && end <= w.rows);
  CHECK(w.packed == nullptr && w.packed_bf16 == nullptr);
  WeightMatrix out = w;
  out.rows = end - begin;
  out.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(begin) * w.row_bytes();
  if (w.is_quantized()) {
    const size_t group_row = static_cast<size_t>(w.cols / w.group_size) * ScaleBytes(w);
    out.scales = static_cast<const uint8_t*>(w.scales) + static_cast<size_t>(begin) * group_row;
    out.biases = static_cast<const uint8_t*>(w.biases) + static_cast<size_t>(begin) * group_row;
  }
  return out;
}

WeightMatrix ColumnSlice(const WeightMatrix& w, int64_t begin, int64_t end,
                         std::vector<std::unique_ptr<uint8_t[]>>* owned) {
  CHECK(0 <= begin && begin <= end && end <= w.cols);
  CHECK(w.packed == nullptr && w.packed_bf16 == nullptr);
  WeightMatrix out = w;
  out.cols = end - begin;
  out.data =
      CopyColumns(w.data, w.rows, w.row_bytes(), DataBytes(w, begin), out.row_bytes(), owned);
  if (w.is_quantized()) {
    CHECK(begin % w.group_size == 0 && end % w.group_size == 0);
    const size_t per = ScaleBytes(w);
    const size_t stride = static_cast<size_t>(w.cols / w.group_size) * per;
    const size_t first = static_cast<size_t>(begin / w.group_size) * per;
    const size_t width = static_cast<size_t>(out.cols / w.group_size) * per;
    out.scales = CopyColumns(w.scales, w.rows, stride, first, width, owned);
    out.biases = CopyColumns(w.biases, w.rows, stride, first, width, owned);
  }
  return out;
}

void ShardWeights(const ShardDims& d, const ModelConfig& c, int rank, ModelWeights* w,
                  std::vector<std::unique_ptr<uint8_t[]>>* owned) {
  const int64_t D = c.head_dim;
  const int64_t q0 = rank * d.num_heads * D, q1 = q0 + d.num_heads * D;
  const int64_t kv0 = rank * d.num_kv_heads * D, kv1 = kv0 + d.num_kv_heads * D;
  const int64_t i0 = static_cast<int64_t>(rank) * d.intermediate_size,
                i1 = i0 + d.intermediate_size;
  for (LayerWeights& l : w->layers) {
    l.q = RowShard(l.q, q0, q1);
    l.k = RowShard(l.k, kv0, kv1);
    l.v = RowShard(l.v, kv0, kv1);
    l.o = ColumnShard(l.o, q0, q1, rank == 0, owned);
    l.gate = RowShard(l.gate, i0, i1);
    l.up = RowShard(l.up, i0, i1);
    l.down = ColumnShard(l.down, i0, i1, rank == 0, owned);
  }
  w->lm_head = RowSlice(w->lm_head, d.vocab_begin, d.vocab_end);
}

}  // namespace ts
