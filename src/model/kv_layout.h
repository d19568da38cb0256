// KvLayout: how the paged KV pool is laid out in memory. This is the kernels' choice and also
// the payload format of the SSD tier, so it is versioned: change the layout, bump the version.
//
// Layout version 1: for each layer, one array for K and one for V, each
//   [num_blocks][num_kv_heads][block_size][head_dim]  in kv_dtype.
// A block of one layer's K is therefore contiguous (block_bytes_per_layer() bytes), and each
// head's run of block_size tokens is contiguous for attention's inner loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kv_dtype.h"

namespace ts {

struct KvLayout {
  static constexpr uint32_t kVersion = 1;

  int32_t num_layers = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size = 16;  // tokens per block
  KvDtype dtype = KvDtype::kBf16;

  // Bytes of one block of one layer's K (the same for V).
  size_t block_bytes_per_layer() const {
    return static_cast<size_t>(num_kv_heads) * block_size * head_dim * KvDtypeBytes(dtype);
  }
  // Bytes of one block across all layers, K and V: what the SSD tier stores per block.
  size_t block_bytes() const { return block_bytes_per_layer() * 2 * num_layers; }
};

// Borrowed pointers to the pool: k[layer] and v[layer] each point at num_blocks blocks.
struct KvPoolView {
  KvLayout layout;
  int32_t num_blocks = 0;
  void* const* k = nullptr;  // [num_layers]
  void* const* v = nullptr;  // [num_layers]
};

}  // namespace ts
