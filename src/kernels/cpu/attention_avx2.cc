// AVX2+FMA+F16C build of paged attention (attention_impl.inc).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu/simd_util.h"

namespace ts::cpu::avx2 {

#include "kernels/cpu/attention_impl.inc"

}  // namespace ts::cpu::avx2
