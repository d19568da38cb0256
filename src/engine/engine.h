// Engine: the one thread that owns the model, the KV cache and the scheduler (DESIGN.md,
// "Data flow"). Other threads talk to it only through Submit (a bounded, locked queue), the
// RequestStream each request gets back, and the thread-safe snapshots below.
//
// Each step: take new requests (prefix lookup RAM -> SSD), pick the step's plan (decode tokens
// of running sequences plus prefill chunks, within max_num_batched_tokens and max_num_seqs),
// run the forward pass, sample, detokenize, check stops, push to streams, commit full blocks to
// the prefix cache. Cancelled requests leave at the next step. Out of blocks: the most recently
// admitted running sequence is preempted (its blocks freed, recomputed later with its
// generated tokens kept).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/file_system.h"
#include "base/status.h"
#include "engine/engine_metrics.h"
#include "engine/request.h"
#include "engine/request_stream.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "text/tokenizer.h"

namespace ts {

struct EngineOptions {
  int32_t threads = 0;                   // compute threads; 0: all cores
  int32_t max_num_seqs = 64;             // running sequences at most
  int32_t max_num_batched_tokens = 512;  // tokens per forward pass at most
  int32_t max_model_len = 0;             // prompt + output tokens; 0: the model's maximum
  int32_t max_queue = 256;               // waiting requests before Submit fails
  int32_t block_size = 16;
  KvDtype kv_dtype = KvDtype::kBf16;
  int64_t kv_cache_memory_bytes = 1ll << 30;  // host models, when num_blocks == 0
  double gpu_memory_utilization = 0.9;        // device models: the fraction of device memory to use
  int32_t num_blocks = 0;
  std::optional<SsdCacheOptions> ssd;
  bool prefix_caching = true;  // reuse cached prompt prefixes (--no-prefix-cache turns it off)

  Status Validate() const;
};

class Engine {
 public:
  // Takes the model; borrows the tokenizer and file system (both outlive the engine).
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options,
                                                std::unique_ptr<Model> model,
                                                const text::Tokenizer* tokenizer, FileSystem* fs);
  ~Engine();  // stops the thread, failing what is still running
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Fails at once, before any compute: kResourceExhausted when the queue is
  // full, kInvalidArgument when it can never run (prompt + max_tokens beyond max_model_len or
  // the pool, ids out of range, bad sampling parameters).
  Result<std::shared_ptr<RequestStream>> Submit(GenerationRequest request);

  // Stops taking requests, lets running ones finish until `deadline`, then ends the rest with
  // a final chunk (finish kCancelled) and flushes the SSD tier. Idempotent.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

  // Drops every cached block that no request uses, RAM and SSD (DELETE /v1/cache).
  Status ClearCache();

  const ModelConfig& model_config() const;
  int32_t max_model_len() const { return max_model_len_; }
  EngineMetricsSnapshot Metrics() const;  // thread-safe
  KvCacheStats CacheStats() const;        // thread-safe (a copy taken at the last step)

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl, int32_t max_model_len);
  std::unique_ptr<Impl> impl_;
  int32_t max_model_len_;
};

}  // namespace ts
