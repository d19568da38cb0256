#include "kv/kv_storage.h"

#include <algorithm>
#include <limits>
#include <string>

#include "base/check.h"

namespace ts {
int32_t KvStorage::NumBlocksForMemory(const KvLayout& layout, int64_t memory_bytes) {
  const int64_t block_bytes = static_cast<int64_t>(layout.block_bytes());
  if (block_bytes <= 0 || memory_bytes < block_bytes) return 0;
  const int64_t blocks = memory_bytes / block_bytes;
  return static_cast<int32_t>(std::min<int64_t>(blocks, std::numeric_limits<int32_t>::max()));
}

Result<KvStorage> KvStorage::Create(const KvLayout& layout, int32_t num_blocks,
                                    DeviceMemory& memory) {
  CHECK(layout.num_layers > 0 && layout.num_kv_heads > 0 && layout.head_dim > 0 &&
        layout.block_size > 0);
  if (num_blocks < 1) return InvalidArgument("the KV pool needs at least one block");
  const size_t bytes = layout.block_bytes_per_layer() * static_cast<size_t>(num_blocks);
  KvStorage storage;
  storage.layout_ = layout;
  storage.num_blocks_ = num_blocks;
  storage.memory_ = &memory;
  for (int32_t i = 0; i < 2 * layout.num_layers; ++i) {
    Result<void*> p = memory.Allocate(bytes);
    if (!p.ok()) {
      return ResourceExhausted(std::string("KV pool on ") + memory.name() + ": " +
                               p.status().message());
    }
    storage.buffers_.emplace_back(static_cast<uint8_t*>(*p), FreeDeleter{&memory});
  }
  for (int32_t l = 0; l < layout.num_layers; ++l) {
    storage.k_.push_back(storage.buffers_[2 * l].get());
    storage.v_.push_back(storage.buffers_[2 * l + 1].get());
  }
  return storage;
}

KvPoolView KvStorage::view() const {
  return {.layout = layout_, .num_blocks = num_blocks_, .k = k_.data(), .v = v_.data()};
}

void KvStorage::CopyBlockOut(int32_t block_id, std::span<uint8_t> out) const {
  CHECK(block_id >= 0 && block_id < num_blocks_) << block_id;
  CHECK_EQ(out.size(), layout_.block_bytes());
  const size_t n = layout_.block_bytes_per_layer();
  const size_t offset = n * static_cast<size_t>(block_id);
  for (size_t i = 0; i < buffers_.size(); ++i) {
    memory_->CopyToHost(out.data() + i * n, buffers_[i].get() + offset, n);
  }
}

void KvStorage::CopyBlockIn(int32_t block_id, std::span<const uint8_t> in) {
  CHECK(block_id >= 0 && block_id < num_blocks_) << block_id;
  CHECK_EQ(in.size(), layout_.block_bytes());
  const size_t n = layout_.block_bytes_per_layer();
  const size_t offset = n * static_cast<size_t>(block_id);
  for (size_t i = 0; i < buffers_.size(); ++i) {
    memory_->CopyFromHost(buffers_[i].get() + offset, in.data() + i * n, n);
  }
}

}  // namespace ts
