// KvStorage: the pre-allocated memory of the paged KV pool (KvLayout v1: per layer one K and one
// V array of [num_blocks][num_kv_heads][block_size][head_dim], each 64-byte aligned and zeroed
// at Create), in the memory the model computes in: host memory for the CPU, device memory for
// CUDA (kernels/device_memory.h).
//
// Owned by the KV cache (move-only; the memory is never copied). The model borrows it through
// view() and reads/writes blocks in place. CopyBlockOut/CopyBlockIn move one block (all layers,
// K and V) to or from a flat buffer in the SSD payload order:
//   for layer in 0..num_layers: K block bytes, then V block bytes.
// Threads: any thread may copy a block that no other thread is touching; the engine hands a
// block to the SSD I/O thread for loading and takes it back through a mutex-guarded queue.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/device_memory.h"
#include "model/kv_layout.h"

namespace ts {

class KvStorage {
 public:
  // REQUIRES: layout has positive sizes; `memory` outlives the storage. Fails when
  // num_blocks < 1 or memory cannot be had.
  static Result<KvStorage> Create(const KvLayout& layout, int32_t num_blocks,
                                  DeviceMemory& memory = HostMemory());
  // The number of blocks that fit in memory_bytes (0 when not even one does).
  static int32_t NumBlocksForMemory(const KvLayout& layout, int64_t memory_bytes);

  KvStorage(KvStorage&&) noexcept = default;
  KvStorage& operator=(KvStorage&&) noexcept = default;
  KvStorage(const KvStorage&) = delete;
  KvStorage& operator=(const KvStorage&) = delete;

  const KvLayout& layout() const { return layout_; }
  int32_t num_blocks() const { return num_blocks_; }
  // Valid while this object lives (moving it keeps the pointers valid).
  KvPoolView view() const;

  // REQUIRES: 0 <= block_id < num_blocks, out.size() == layout().block_bytes().
  void CopyBlockOut(int32_t block_id, std::span<uint8_t> out) const;
  // REQUIRES: 0 <= block_id < num_blocks, in.size() == layout().block_bytes().
  void CopyBlockIn(int32_t block_id, std::span<const uint8_t> in);

 private:
  struct FreeDeleter {
    DeviceMemory* memory;
    void operator()(uint8_t* p) const { memory->Free(p); }
  };
  using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;

  KvStorage() = default;

  KvLayout layout_;
  int32_t num_blocks_ = 0;
  DeviceMemory* memory_ = nullptr;
  std::vector<Buffer> buffers_;  // [2 * num_layers]: K of layer l at 2l, V at 2l + 1
  std::vector<void*> k_;         // [num_layers] borrowed from buffers_, for view()
  std::vector<void*> v_;         // [num_layers]
};

}  // namespace ts
