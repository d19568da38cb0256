// Block identity for prefix sharing (DESIGN.md, "Block identity").
//
//   hash_{-1} = root = XXH3_128(cache fingerprint || cache_salt)   (salt empty: root = fingerprint)
//   hash_i    = XXH3_128(hash_{i-1} || token ids of block i || extra keys)
//
// The cache fingerprint is the model's fingerprint mixed with the KV layout (layout version,
// dtype, block size, layers, heads, head_dim), so KV of another model or format can never share
// a chain. Token ids are hashed as little-endian int32. A hash only names a candidate: a hit is
// accepted only when the stored token ids equal the request's (block_pool.h, ssd/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/kv_layout.h"

namespace ts {

struct BlockHash {
  uint64_t low = 0;
  uint64_t high = 0;

  friend bool operator==(const BlockHash&, const BlockHash&) = default;
  // 32 lowercase hex digits, high word first.
  std::string ToHex() const;
  // Parses ToHex()'s form; false on anything else.
  static bool FromHex(std::string_view hex, BlockHash* out);
};

struct BlockHashHasher {
  size_t operator()(const BlockHash& h) const { return static_cast<size_t>(h.low); }
};

// What, besides the tokens, must match for KV to be shared.
struct CacheKeys {
  std::string_view salt;   // per-request cache_salt (OpenAI-style isolation); empty = none
  std::string_view extra;  // per-request extra keys (e.g. adapter id), mixed into every block
};

// The 128-bit value stored in every SSD file and at the root of every chain.
BlockHash CacheFingerprint(const BlockHash& model_fingerprint, const KvLayout& layout);

// Chain root for one request.
BlockHash ChainRoot(const BlockHash& cache_fingerprint, std::string_view salt);

// hash_i from hash_{i-1}. REQUIRES: tokens is one full block.
BlockHash HashBlock(const BlockHash& parent, std::span<const int32_t> tokens,
                    std::string_view extra);

// Appends hashes of full blocks first_block.. of tokens to *hashes, continuing the chain
// from `parent` (the hash of block first_block - 1, or the root).
void HashFullBlocks(const BlockHash& parent, std::span<const int32_t> tokens, int32_t block_size,
                    int32_t first_block, std::string_view extra, std::vector<BlockHash>* hashes);

}  // namespace ts
