#!/usr/bin/env bash
# Runs the `gpu` tests and the H200 benchmarks on the device machine (the `device` tool), from
# binaries built here: the device image has CUDA but not our Debian libraries, so the
# binaries and their shared libraries travel in .gpu/ (see BENCHMARKS.md, "CUDA").
#   bench/gpu/device_check.sh tests          kernel, golden and engine-loop tests on the GPU
#   bench/gpu/device_check.sh bench PRESET ARGS...   gen-model PRESET (bf16, or QUANT=q4|q8) and bench-engine
#                                          on cuda with ARGS (NO_GRAPHS_TOO=1: again without
#                                          decode graphs)
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH=$PWD/.gpu/lib:${LD_LIBRARY_PATH:-}
export HF_HUB_OFFLINE=1 NCCL_NVLS_ENABLE=0
# The test binaries find fixtures and tierserve through the paths they were built with.
if [ ! -e /work/main ]; then mkdir -p /work && ln -s "$PWD" /work/main; fi
mkdir -p build-dev/src/app && cp .gpu/tierserve build-dev/src/app/tierserve
out=${OUT:-/tmp}
case "${1:-tests}" in
  tests)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    .gpu/ts_cuda_kernel_tests 2>&1 | tee "$out/cuda_kernels.log" | tail -5
    TS_TEST_DEVICE=cuda .gpu/ts_golden_model_tests 2>&1 | tee "$out/golden.log" | grep -E "max \||FAIL|PASSED|tests ran"
    TS_TEST_DEVICE=cuda .gpu/ts_engine_loop_tests 2>&1 | tee "$out/engine.log" | grep -E "FAIL|PASSED|tests ran"
    ;;
  bench)
    preset=${2:-qwen3-8b}
    shift 2
    t0=$(date +%s)
    build-dev/src/app/tierserve gen-model --preset "$preset" --dtype bf16 ${QUANT:+--quant $QUANT} \
      --out /tmp/m-$preset >/dev/null
    echo "gen-model $preset: $(( $(date +%s) - t0 )) s"
    build-dev/src/app/tierserve bench-engine --model /tmp/m-$preset --device cuda "$@" 2>&1 | tee "$out/bench-$preset.log"
    if [ -n "${NO_GRAPHS_TOO:-}" ]; then  # the same without decode graphs, for the ratio
      echo "-- TS_CUDA_GRAPHS=0"
      TS_CUDA_GRAPHS=0 build-dev/src/app/tierserve bench-engine --model /tmp/m-$preset --device cuda \
        "$@" 2>&1 | tee "$out/bench-$preset-nographs.log"
    fi
    ;;
esac
