// Benchmarks of the tiered prefix KV cache (issue 4):
//   BM_LookupAllocate: Lookup + Allocate + Free of a fully cached 32k-token prompt (bar: <= 1 ms),
//                      per block size (the KV bytes do not enter this path).
//   BM_SsdRestore:     restoring an 8k-token prefix of qwen3-0.6b shapes (28 layers, 8 KV heads,
//                      head_dim 128, bf16) from the SSD tier into the pool; bytes/s, with the
//                      page cache warm (records just written) or cold (evicted with
//                      POSIX_FADV_DONTNEED after fsync).
//   BM_StartupScan:    SsdCache::Open over a directory of 100k records (bar: <= 2 s).
// Data lives under $TS_BENCH_DIR (default /tmp) and is removed at exit.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "kv/kv_cache.h"
#include "kv/ssd/block_file.h"
#include "kv/ssd/ssd_cache.h"

namespace ts {
namespace {

constexpr BlockHash kModel{.low = 1, .high = 2};

std::string BenchDir(const std::string& name) {
  const char* root = std::getenv("TS_BENCH_DIR");
  return std::string(root != nullptr ? root : "/tmp") + "/ts_kv_bench_" + name + "_" +
         std::to_string(::getpid());
}

// Removes the benchmark directories when the program ends.
struct Cleanup {
  std::vector<std::string> dirs;
  ~Cleanup() {
    for (const std::string& d : dirs) std::filesystem::remove_all(d);
  }
};
Cleanup cleanup;

std::vector<int32_t> Prompt(size_t n) {
  std::vector<int32_t> tokens(n);
  for (size_t i = 0; i < n; ++i) tokens[i] = static_cast<int32_t>((i * 7919 + 13) % 151000);
  return tokens;
}

KvLayout Qwen3Layout(int32_t block_size) {
  return {.num_layers = 28, .num_kv_heads = 8, .head_dim = 128, .block_size = block_size,
          .dtype = KvDtype::kBf16};
}

void BM_LookupAllocate(benchmark::State& state) {
  const int32_t block_size = static_cast<int32_t>(state.range(0));
  const std::vector<int32_t> prompt = Prompt(32768 + 1);
  KvCacheOptions options;
  options.layout = {.num_layers = 1, .num_kv_heads = 1, .head_dim = 8, .block_size = block_size,
                    .dtype = KvDtype::kBf16};
  options.num_blocks = 32768 / block_size + 16;
  options.model_fingerprint = kModel;
  PosixFileSystem fs;
  std::unique_ptr<KvCache> cache = KvCache::Create(options, &fs).value();
  {
    KvSequence seq = cache->Allocate(cache->Lookup(prompt, {}), prompt,
                                     static_cast<int32_t>(prompt.size()), {})
                         .value();
    cache->Commit(&seq, prompt, static_cast<int32_t>(prompt.size()));
    cache->Free(std::move(seq));
  }
  for (auto _ : state) {
    PrefixHit hit = cache->Lookup(prompt, {});
    KvSequence seq =
        cache->Allocate(hit, prompt, static_cast<int32_t>(prompt.size()), {}).value();
    benchmark::DoNotOptimize(seq.block_ids().data());
    cache->Free(std::move(seq));
  }
  state.counters["cached_tokens"] =
      static_cast<double>(cache->Lookup(prompt, {}).num_cached_blocks() * block_size);
}
BENCHMARK(BM_LookupAllocate)->Arg(8)->Arg(16)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

void EvictFromPageCache(const std::string& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// range(0): block size; range(1): 1 = cold page cache.
void BM_SsdRestore(benchmark::State& state) {
  const int32_t block_size = static_cast<int32_t>(state.range(0));
  const bool cold = state.range(1) != 0;
  constexpr int32_t kTokens = 8192;
  const int32_t num_blocks = kTokens / block_size;
  const std::vector<int32_t> prompt = Prompt(kTokens + 1);
  const std::string dir = BenchDir("restore" + std::to_string(block_size));
  cleanup.dirs.push_back(dir);
  KvCacheOptions options;
  options.layout = Qwen3Layout(block_size);
  options.num_blocks = num_blocks + 1;
  options.model_fingerprint = kModel;
  SsdCacheOptions ssd;
  ssd.dir = dir;
  options.ssd = ssd;
  PosixFileSystem fs;
  {
    // Fill the SSD tier: one pass of "prefill" whose blocks are persisted.
    std::unique_ptr<KvCache> writer = KvCache::Create(options, &fs).value();
    // An empty hit: the writer computes every block even when an earlier run left them on disk.
    KvSequence seq = writer->Allocate(PrefixHit{}, prompt, kTokens + 1, {}).value();
    const KvPoolView view = writer->pool_view();
    for (int32_t l = 0; l < view.layout.num_layers; ++l) {
      const size_t bytes = view.layout.block_bytes_per_layer() * static_cast<size_t>(num_blocks);
      std::memset(view.k[l], l + 1, bytes);
      std::memset(view.v[l], l + 2, bytes);
    }
    for (int32_t b = 0; b < num_blocks; ++b) {
      // One block at a time, flushing, so that no write is dropped by the bounded queue.
      writer->Commit(&seq, prompt, (b + 1) * block_size);
      writer->FlushSsd();
    }
    writer->Free(std::move(seq));
  }
  std::unique_ptr<KvCache> cache = KvCache::Create(options, &fs).value();
  int32_t restored_blocks = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      EvictFromPageCache(dir);
      state.ResumeTiming();
    }
    PrefixHit hit = cache->Lookup(prompt, {});
    KvSequence seq = cache->Allocate(hit, prompt, kTokens + 1, {}).value();
    cache->FlushSsd();
    for (uint64_t id : cache->PollLoads()) {
      if (id == seq.load_id()) cache->FinishLoad(&seq);
    }
    restored_blocks = seq.num_cached_tokens() / block_size;
    state.PauseTiming();
    cache->Free(std::move(seq));
    // Drop the RAM copies so the next iteration reads the SSD tier again.
    cache.reset();
    cache = KvCache::Create(options, &fs).value();
    state.ResumeTiming();
  }
  // Bytes actually restored: fewer than planned would show as a lower rate, never a higher one.
  const int64_t restored_bytes = static_cast<int64_t>(restored_blocks) *
                                 static_cast<int64_t>(options.layout.block_bytes());
  state.SetBytesProcessed(state.iterations() * restored_bytes);
  state.counters["restored_blocks"] = restored_blocks;
  state.counters["planned_blocks"] = num_blocks;
  state.counters["restored_bytes"] = static_cast<double>(restored_bytes);
}
BENCHMARK(BM_SsdRestore)
    ->Args({16, 0})
    ->Args({16, 1})
    ->Args({4, 0})
    ->Args({64, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// Writes n valid records (small layout) straight into dir, without fsync, for the scan benchmark.
void WriteRecords(const std::string& dir, const KvLayout& layout, const BlockHash& fingerprint,
                  int n) {
  const std::vector<int32_t> tokens = Prompt(static_cast<size_t>(layout.block_size));
  const std::vector<uint8_t> payload(layout.block_bytes(), 7);
  std::filesystem::create_directories(dir);
  BlockHash parent = fingerprint;
  for (int i = 0; i < n; ++i) {
    const BlockHash hash = HashBlock(parent, tokens, "");
    const std::vector<uint8_t> header = EncodeBlockFileHeader(
        {.fingerprint = fingerprint, .hash = hash, .parent = parent, .tokens = tokens,
         .payload_bytes = payload.size()},
        payload);
    const std::string path = dir + "/" + BlockFileName(hash);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(header.data(), 1, header.size(), f);
    std::fwrite(payload.data(), 1, payload.size(), f);
    std::fclose(f);
    parent = hash;
  }
}

void BM_StartupScan(benchmark::State& state) {
  const int num_files = static_cast<int>(state.range(0));
  const KvLayout layout{.num_layers = 2, .num_kv_heads = 2, .head_dim = 8, .block_size = 16,
                        .dtype = KvDtype::kBf16};
  const BlockHash fingerprint = CacheFingerprint(kModel, layout);
  const std::string dir = BenchDir("scan");
  cleanup.dirs.push_back(dir);
  WriteRecords(dir, layout, fingerprint, num_files);
  KvStorage storage = KvStorage::Create(layout, 1).value();
  PosixFileSystem fs;
  SsdCacheOptions options;
  options.dir = dir;
  int64_t found = 0;
  for (auto _ : state) {
    std::unique_ptr<SsdCache> cache = SsdCache::Open(options, fingerprint, &storage, &fs).value();
    found = cache->stats().num_blocks;
  }
  state.counters["indexed_files"] = static_cast<double>(found);
}
BENCHMARK(BM_StartupScan)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace ts

BENCHMARK_MAIN();
