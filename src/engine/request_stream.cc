#include "engine/request_stream.h"

namespace ts {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "";
}

size_t RequestStream::PendingBytes() const {
  if (!pending_) return 0;
  size_t bytes = pending_->text.size() + 4 * pending_->token_ids.size();
  for (const auto& l : pending_->logprobs) bytes += 8 + 8 * l.top.size();
  return bytes;
}

bool RequestStream::Push(StreamChunk chunk) {
  bool ok = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_pushed_) return false;
    if (!pending_) {
      pending_ = std::move(chunk);
    } else {
      StreamChunk& p = *pending_;
      p.text += chunk.text;
      p.token_ids.insert(p.token_ids.end(), chunk.token_ids.begin(), chunk.token_ids.end());
      for (auto& l : chunk.logprobs) p.logprobs.push_back(std::move(l));
      for (auto& l : chunk.prompt_logprobs) p.prompt_logprobs.push_back(std::move(l));
      p.prefill_started = p.prefill_started || chunk.prefill_started;
      if (chunk.finish != FinishReason::kNone) {
        p.finish = chunk.finish;
        p.usage = chunk.usage;
        p.error = chunk.error;
      }
    }
    if (pending_->finish == FinishReason::kNone && PendingBytes() > max_bytes_) {
      cancelled_.store(true, std::memory_order_relaxed);
      pending_->finish = FinishReason::kError;
      pending_->error = ResourceExhausted("the client is not reading its stream");
      ok = false;
    }
    finished_pushed_ = pending_->finish != FinishReason::kNone;
  }
  cv_.notify_all();
  return ok;
}

std::optional<StreamChunk> RequestStream::Next(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finished_taken_) return std::nullopt;
  if (!cv_.wait_until(lock, deadline, [&] { return pending_.has_value(); })) return std::nullopt;
  std::optional<StreamChunk> out = std::move(pending_);
  pending_.reset();
  if (out->finish != FinishReason::kNone) finished_taken_ = true;
  return out;
}

}  // namespace ts
