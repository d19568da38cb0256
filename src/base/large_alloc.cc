#include "base/large_alloc.h"

#include <sys/mman.h>

#include <cstdlib>

namespace ts {

void* AllocateLarge(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t alignment = bytes >= kHugePage ? kHugePage : 64;
  void* p = nullptr;
  // posix_memalign, unlike aligned_alloc, needs no size rounded up to the alignment: no 2 MiB
  // tail per matrix.
  if (posix_memalign(&p, alignment, bytes == 0 ? 1 : bytes) != 0) return nullptr;
  // Advice only: without transparent huge pages the buffer works the same on 4 KiB pages.
  if (alignment == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

}  // namespace ts
