// How paged attention is cut into tasks for the thread pool, shared by the builds for each
// instruction set (attention_avx2.cc, attention_avx512.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"

namespace ts::cpu {

// Query tokens [t_begin, t_end) of sequence seq, for kv heads [kvh_begin, kvh_end) and the
// query heads that share them.
struct AttentionTask {
  int32_t seq, t_begin, t_end, kvh_begin, kvh_end;
};

// Tiles of at most query_tile tokens of one sequence, each cut into runs of kv heads: whole
// blocks (every kv head) when there are enough tiles to give each of `threads` a few tasks,
// shorter runs otherwise, and never more than max_run heads.
std::vector<AttentionTask> SplitAttention(const PagedAttentionArgs& a, int32_t query_tile,
                                          int threads, int32_t max_run);

}  // namespace ts::cpu
