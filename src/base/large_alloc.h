// Allocation of big, long-lived buffers (the KV pool, repacked weights) that the kernels stream
// through: backed by 2 MiB pages where the kernel allows it, so reading them costs few TLB
// misses (the KV pool is read block by block at scattered addresses, each block a new 4 KiB
// page otherwise).
#pragma once

#include <cstddef>

namespace ts {

// 64-byte aligned; buffers of 2 MiB or more are 2 MiB aligned and advised for huge pages.
// nullptr when out of memory. Release with std::free.
void* AllocateLarge(size_t bytes);

}  // namespace ts
