// Instruction sets the CPU kernels are built for, and the one chosen at run time: the widest
// this CPU has (AVX-512 with VNNI, AVX-512, or AVX2+FMA), unless the environment variable
// TS_ISA names another (TS_ISA=avx2 forces the fallback). With VNNI, quantized weights
// are multiplied by int8-quantized activations (kernels/packed_quant.h); without it, by f32. Each
// kernel with per-ISA builds also takes an explicit Isa so tests cover every path this CPU has.
#pragma once

#include <string_view>
#include <vector>

namespace ts {

enum class Isa { kAvx2, kAvx512, kAvx512Vnni };

std::string_view IsaName(Isa isa);
// Instruction sets this CPU can run, narrowest first.
std::vector<Isa> AvailableIsas();
Isa SelectedIsa();
// AVX512-BF16 (vdpbf16ps), for bf16 weights times bf16-rounded activations (packed_bf16.h): an
// option, not a level of Isa (CPUs with VNNI may lack it).
bool CpuHasAvx512Bf16();

}  // namespace ts
