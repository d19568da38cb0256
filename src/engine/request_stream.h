// RequestStream: what the engine thread produces for one request, read by an HTTP thread.
//
// The engine pushes chunks; the reader takes everything pending at once (chunks merge while
// it is away), so a slow reader costs memory, not engine time. The merged backlog is bounded:
// past max_buffered_bytes the request is cancelled and ends with an error (a stalled client
// can never grow the server's memory). Cancel() may be called from any thread; the engine
// sees it at its next step and frees the request's blocks.
//
// State: open --(final chunk: finish != kNone)--> finished. The reader sees the final chunk
// once, after which Next returns nullopt at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ts {

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char* FinishReasonName(FinishReason r);  // "stop", "length", "cancelled", "error"

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.f;
  std::vector<std::pair<int32_t, float>> top;  // best first, when top logprobs were asked
};

struct Usage {
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_tokens = 0;      // prompt tokens whose KV came from the cache
  int32_t cached_tokens_ram = 0;  // ... of them from the RAM tier
  int32_t cached_tokens_ssd = 0;  // ... from the SSD tier
  // Engine-side timings: arrival to first schedule, first schedule to first token, first to
  // last token.
  double queue_seconds = 0, prefill_seconds = 0, decode_seconds = 0;
};

struct StreamChunk {
  std::string text;                // new text (valid UTF-8; never part of a matched stop string)
  std::vector<int32_t> token_ids;  // tokens generated since the last chunk
  std::vector<TokenLogprob> logprobs;  // one per token, when logprobs were asked
  // Prompt log-probabilities (first entry's logprob is NaN: no context), when asked; once.
  std::vector<TokenLogprob> prompt_logprobs;
  bool prefill_started = false;    // the request left the queue (keep-alives may start)
  FinishReason finish = FinishReason::kNone;
  Usage usage;                     // valid with the final chunk
  Status error;                    // with FinishReason::kError
};

class RequestStream {
 public:
  explicit RequestStream(size_t max_buffered_bytes = 8u << 20) : max_bytes_(max_buffered_bytes) {}

  // Engine side. Merges into the pending chunk; returns false when the backlog passed its
  // bound (the stream is then cancelled and finished with an error).
  bool Push(StreamChunk chunk);

  // Reader side: waits until something is pending, the stream finished, or the deadline.
  // nullopt on timeout or after the final chunk was taken.
  std::optional<StreamChunk> Next(std::chrono::steady_clock::time_point deadline);

  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool is_cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  size_t PendingBytes() const;  // REQUIRES: mu_ held

  const size_t max_bytes_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<StreamChunk> pending_;  // guarded by mu_
  bool finished_taken_ = false;         // guarded by mu_
  bool finished_pushed_ = false;        // guarded by mu_
};

}  // namespace ts
