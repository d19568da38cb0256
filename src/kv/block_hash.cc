#include "kv/block_hash.h"

#include <xxhash.h>

#include <bit>
#include <cstring>

#include "base/check.h"

namespace ts {

static_assert(std::endian::native == std::endian::little,
              "block hashes and the SSD format hash and store little-endian integers");

namespace {

BlockHash FromXxh(XXH128_hash_t h) { return {.low = h.low64, .high = h.high64}; }

}  // namespace

std::string BlockHash::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kDigits[(high >> (4 * i)) & 0xf];
    out[31 - i] = kDigits[(low >> (4 * i)) & 0xf];
  }
  return out;
}

bool BlockHash::FromHex(std::string_view hex, BlockHash* out) {
  if (hex.size() != 32) return false;
  uint64_t words[2] = {0, 0};
  for (int i = 0; i < 32; ++i) {
    char c = hex[static_cast<size_t>(i)];
    uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
    words[i / 16] = (words[i / 16] << 4) | digit;
  }
  out->high = words[0];
  out->low = words[1];
  return true;
}

BlockHash CacheFingerprint(const BlockHash& model_fingerprint, const KvLayout& layout) {
  const uint64_t fields[] = {model_fingerprint.low,
                             model_fingerprint.high,
                             KvLayout::kVersion,
                             static_cast<uint64_t>(layout.dtype),
                             static_cast<uint64_t>(layout.block_size),
                             static_cast<uint64_t>(layout.num_layers),
                             static_cast<uint64_t>(layout.num_kv_heads),
                             static_cast<uint64_t>(layout.head_dim)};
  return FromXxh(XXH3_128bits(fields, sizeof fields));
}

BlockHash ChainRoot(const BlockHash& cache_fingerprint, std::string_view salt) {
  if (salt.empty()) return cache_fingerprint;
  std::string input(16 + salt.size(), '\0');
  const uint64_t words[2] = {cache_fingerprint.low, cache_fingerprint.high};
  std::memcpy(input.data(), words, 16);
  std::memcpy(input.data() + 16, salt.data(), salt.size());
  return FromXxh(XXH3_128bits(input.data(), input.size()));
}

BlockHash HashBlock(const BlockHash& parent, std::span<const int32_t> tokens,
                    std::string_view extra) {
  // One contiguous input for one-shot XXH3 (the streaming state's layout is not part of
  // libxxhash's stable ABI); small blocks stay on the stack.
  constexpr size_t kStackWords = 512;
  const size_t total = 16 + tokens.size_bytes() + extra.size();
  uint64_t stack_buffer[kStackWords / 8 + 1];
  std::vector<uint64_t> heap_buffer;
  uint8_t* buffer = reinterpret_cast<uint8_t*>(stack_buffer);
  if (total > kStackWords) {
    heap_buffer.resize(total / 8 + 1);
    buffer = reinterpret_cast<uint8_t*>(heap_buffer.data());
  }
  const uint64_t words[2] = {parent.low, parent.high};
  std::memcpy(buffer, words, 16);
  std::memcpy(buffer + 16, tokens.data(), tokens.size_bytes());
  if (!extra.empty()) std::memcpy(buffer + 16 + tokens.size_bytes(), extra.data(), extra.size());
  return FromXxh(XXH3_128bits(buffer, total));
}

void HashFullBlocks(const BlockHash& parent, std::span<const int32_t> tokens, int32_t block_size,
                    int32_t first_block, std::string_view extra, std::vector<BlockHash>* hashes) {
  CHECK_GT(block_size, 0);
  const size_t num_full = tokens.size() / static_cast<size_t>(block_size);
  BlockHash h = parent;
  for (size_t i = static_cast<size_t>(first_block); i < num_full; ++i) {
    h = HashBlock(h, tokens.subspan(i * block_size, static_cast<size_t>(block_size)), extra);
    hashes->push_back(h);
  }
}

}  // namespace ts
