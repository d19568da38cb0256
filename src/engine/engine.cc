#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <unordered_map>

#include "base/check.h"
#include "base/log.h"
#include "engine/scheduler.h"
#include "engine/sharded_kv.h"
#include "engine/step_builder.h"
#include "kernels/host_buffer.h"

namespace ts {

Status EngineOptions::Validate() const {
  if (threads < 0) return InvalidArgument("--threads must be >= 0");
  if (max_num_seqs < 1) return InvalidArgument("--max-num-seqs must be >= 1");
  if (max_num_batched_tokens < 1) return InvalidArgument("--max-num-batched-tokens must be >= 1");
  if (max_model_len < 0) return InvalidArgument("--max-model-len must be >= 0");
  if (max_queue < 1) return InvalidArgument("--max-queue must be >= 1");
  if (block_size < 1 || block_size > 1024) {
    return InvalidArgument("--block-size must be in [1, 1024]");
  }
  if (num_blocks < 0) return InvalidArgument("--num-blocks must be >= 0");
  if (num_blocks == 0 && kv_cache_memory_bytes <= 0) {
    return InvalidArgument("give --kv-cache-memory or --num-blocks");
  }
  if (!(gpu_memory_utilization > 0 && gpu_memory_utilization <= 1)) {
    return InvalidArgument("--gpu-memory-utilization must be in (0, 1]");
  }
  return Status::Ok();
}

// Everything the engine thread owns. Members below the mutex are shared with other threads.
class Engine::Impl {
 public:
  Impl(const EngineOptions& options, std::unique_ptr<Model> model, const text::Tokenizer* tokenizer,
       std::unique_ptr<KvCache> cache, int32_t max_model_len)
      : options_(options),
        model_(std::move(model)),
        tokenizer_(tokenizer),
        cache_(std::move(cache)),
        pool_(options.threads > 0 ? options.threads
                                  : static_cast<int>(std::thread::hardware_concurrency())),
        scheduler_(SchedulerOptions{options.max_num_seqs, options.max_num_batched_tokens, 32,
                                    options.prefix_caching},
                   cache_.get()),
        max_model_len_(max_model_len),
        logits_(model_->kv_memory()),
        seed_source_(std::random_device{}()) {
    eos_ids_ = model_->config().eos_token_ids;
    if (tokenizer_ != nullptr && tokenizer_->eos_id()) eos_ids_.push_back(*tokenizer_->eos_id());
    metrics_.kv_blocks_total.store(cache_->num_blocks());
    cache_stats_ = cache_->stats();
    thread_ = std::thread([this] { Loop(); });
  }

  ~Impl() {
    Shutdown(std::chrono::steady_clock::now());
    thread_.join();
  }

  const ModelConfig& config() const { return model_->config(); }

  Result<std::shared_ptr<RequestStream>> Submit(GenerationRequest request) {
    RETURN_IF_ERROR(CheckRequest(request));
    auto stream = std::make_shared<RequestStream>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Unavailable("the server is shutting down");
      if (static_cast<int32_t>(incoming_.size()) + queued_in_scheduler_ >= options_.max_queue) {
        metrics_.requests_rejected_total.fetch_add(1);
        return ResourceExhausted("the server is busy: the request queue is full");
      }
      incoming_.push_back({std::move(request), stream, std::chrono::steady_clock::now()});
      metrics_.queue_depth.store(static_cast<int64_t>(incoming_.size()) + queued_in_scheduler_);
    }
    wake_.notify_one();
    return stream;
  }

  void Shutdown(std::chrono::steady_clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        shutdown_deadline_ = std::min(shutdown_deadline_, deadline);
      } else {
        stopping_ = true;
        shutdown_deadline_ = deadline;
      }
    }
    wake_.notify_one();
  }

  void WaitStopped() {
    std::unique_lock<std::mutex> lock(mu_);
    stopped_cv_.wait(lock, [&] { return stopped_; });
  }

  Status ClearCache() {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_) return Unavailable("the engine has stopped");
    const uint64_t ticket = ++clear_requested_;
    wake_.notify_one();
    stopped_cv_.wait(lock, [&] { return clear_done_ >= ticket || stopped_; });
    return clear_status_;
  }

  EngineMetricsSnapshot Metrics() const { return metrics_.Take(); }

  KvCacheStats CacheStats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_stats_;
  }

 private:
  struct Incoming {
    GenerationRequest request;
    std::shared_ptr<RequestStream> stream;
    std::chrono::steady_clock::time_point arrival;
  };

  Status CheckRequest(const GenerationRequest& r) const {
    const ModelConfig& c = model_->config();
    if (r.prompt.empty()) return InvalidArgument("the prompt is empty");
    for (int32_t id : r.prompt) {
      if (id < 0 || id >= c.vocab_size) {
        return InvalidArgument("prompt token id " + std::to_string(id) + " is out of range");
      }
    }
    for (int32_t id : r.stop_token_ids) {
      if (id < 0 || id >= c.vocab_size) {
        return InvalidArgument("stop token id " + std::to_string(id) + " is out of range");
      }
    }
    if (r.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1");
    if (r.min_tokens < 0 || r.min_tokens > r.max_tokens) {
      return InvalidArgument("min_tokens must be in [0, max_tokens]");
    }
    RETURN_IF_ERROR(r.sampling.Validate(c.vocab_size));
    const int64_t total = static_cast<int64_t>(r.prompt.size()) + r.max_tokens;
    if (total > max_model_len_) {
      return InvalidArgument("the prompt (" + std::to_string(r.prompt.size()) +
                             " tokens) plus max_tokens (" + std::to_string(r.max_tokens) +
                             ") is longer than the maximum context length " +
                             std::to_string(max_model_len_));
    }
    const int64_t blocks = (total + cache_->block_size() - 1) / cache_->block_size();
    if (blocks > cache_->num_blocks()) {
      return InvalidArgument("the prompt plus max_tokens needs " + std::to_string(blocks) +
                             " KV blocks but the pool has " + std::to_string(cache_->num_blocks()));
    }
    return Status::Ok();
  }

  // Engine thread --------------------------------------------------------------------------

  void Loop() {
    for (;;) {
      bool stopping = false;
      std::chrono::steady_clock::time_point deadline;
      bool clear = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto has_work = [&] {
          return stopping_ || !incoming_.empty() || clear_requested_ > clear_done_ ||
                 scheduler_.num_running() > 0 || scheduler_.num_waiting() > 0;
        };
        wake_.wait(lock, has_work);
        TakeIncoming();
        stopping = stopping_;
        deadline = shutdown_deadline_;
        clear = clear_requested_ > clear_done_;
      }
      if (clear) DoClearCache();
      if (stopping && (std::chrono::steady_clock::now() >= deadline ||
                       (scheduler_.num_running() == 0 && scheduler_.num_waiting() == 0))) {
        break;
      }
      DropCancelled();
      if (scheduler_.num_running() + scheduler_.num_waiting() > 0) Step();
      PublishStats();
    }
    for (auto& [id, seq] : sequences_) {
      Finish(seq.get(), FinishReason::kCancelled, Status::Ok(), /*remove=*/false);
    }
    sequences_.clear();
    cache_->FlushSsd();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& in : incoming_) {
      StreamChunk c;
      c.finish = FinishReason::kCancelled;
      in.stream->Push(std::move(c));
    }
    incoming_.clear();
    cache_stats_ = cache_->stats();
    stopped_ = true;
    stopped_cv_.notify_all();
  }

  // REQUIRES: mu_ held.
  void TakeIncoming() {
    for (auto& in : incoming_) {
      auto seq = std::make_unique<Sequence>(next_id_++, std::move(in.request), std::move(in.stream),
                                            seed_source_());
      seq->arrival = in.arrival;
      if (tokenizer_ != nullptr) {
        seq->detokenizer.emplace(*tokenizer_, seq->request.skip_special_tokens);
      }
      metrics_.prompt_tokens_total.fetch_add(seq->num_prompt_tokens);
      scheduler_.AddWaiting(seq.get());
      sequences_.emplace(seq->id, std::move(seq));
    }
    incoming_.clear();
    queued_in_scheduler_ = static_cast<int32_t>(scheduler_.num_waiting());
    metrics_.queue_depth.store(queued_in_scheduler_);
  }

  void DropCancelled() {
    std::vector<Sequence*> gone;
    for (auto& [id, seq] : sequences_) {
      if (seq->stream->is_cancelled()) gone.push_back(seq.get());
    }
    for (Sequence* s : gone) Finish(s, FinishReason::kCancelled, Status::Ok(), /*remove=*/true);
  }

  void Step() {
    const auto t0 = std::chrono::steady_clock::now();
    StepPlan plan = scheduler_.Schedule();
    metrics_.preemptions_total.fetch_add(static_cast<int64_t>(plan.preempted.size()));
    if (plan.chunks.empty()) {
      // Only sequences waiting for SSD loads or blocks: let the I/O thread work.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return;
    }
    const int32_t vocab = model_->config().vocab_size;
    int32_t max_blocks = 1;
    for (const auto& c : plan.chunks) {
      max_blocks = std::max(max_blocks, static_cast<int32_t>(c.seq->kv->block_ids().size()));
    }
    builder_.Reset(cache_->block_size(), max_blocks);
    // Logit rows: every row of all_logits chunks, the last row of sampling chunks.
    std::vector<int32_t> logit_rows;
    std::vector<int32_t> sample_row;  // per chunk: index into logits of its sampling row, or -1
    int32_t row = 0;
    for (const auto& c : plan.chunks) {
      Sequence* s = c.seq;
      if (!s->was_scheduled) {
        s->was_scheduled = true;
        s->first_scheduled = t0;
        StreamChunk started;
        started.prefill_started = true;
        s->stream->Push(std::move(started));
      }
      builder_.AddSequence(
          std::span(s->tokens).subspan(static_cast<size_t>(c.start), static_cast<size_t>(c.count)),
          c.start, s->kv->block_ids(), /*want_logits=*/false);
      if (c.all_logits) {
        for (int32_t i = 0; i < c.count; ++i) logit_rows.push_back(row + i);
      } else if (c.sample) {
        logit_rows.push_back(row + c.count - 1);
      }
      sample_row.push_back(c.sample ? static_cast<int32_t>(logit_rows.size()) - 1 : -1);
      row += c.count;
    }
    StepBatch batch = builder_.batch();
    batch.logit_rows = logit_rows;
    Status s = logits_.Reserve(logit_rows.size() * static_cast<size_t>(vocab));
    if (s.ok()) s = model_->ValidateBatch(batch, cache_->pool_view());
    const auto forward_start = std::chrono::steady_clock::now();
    if (s.ok()) s = model_->Forward(batch, cache_->pool_view(), logits_.data(), pool_);
    const auto forward_end = std::chrono::steady_clock::now();
    if (!s.ok()) {
      LOG(ERROR) << "forward pass failed: " << s.ToString();
      for (const auto& c : plan.chunks) {
        Finish(c.seq, FinishReason::kError, s.WithContext("model step"), /*remove=*/true);
      }
      return;
    }
    // Prompt log-probabilities and logit processing, then sampling: each sequence's sampler
    // is its own (with its own seed), so rows are sampled in parallel over the thread pool
    // (a batch of 256 over a 150k vocabulary is tens of milliseconds on one thread).
    std::vector<size_t> to_sample;  // chunk indices
    size_t logit_index = 0;
    for (size_t i = 0; i < plan.chunks.size(); ++i) {
      const ScheduledChunk& c = plan.chunks[i];
      if (c.all_logits) {
        EmitPromptLogprobs(c, logits_.data() + logit_index * vocab, vocab);
        logit_index += static_cast<size_t>(c.count);
      } else if (c.sample) {
        ++logit_index;
      }
      if (c.sample) {
        float* l = logits_.data() + static_cast<size_t>(sample_row[i]) * vocab;
        ApplyMinTokens(c.seq, l);
        std::optional<GrammarMatcher>& matcher = c.seq->matcher;
        if (matcher && !matcher->Mask(l)) c.seq->grammar_failed = true;
        to_sample.push_back(i);
      }
    }
    std::vector<SampledToken> sampled_full(to_sample.size());
    pool_.ParallelFor(static_cast<int64_t>(to_sample.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const size_t i = to_sample[static_cast<size_t>(k)];
        float* l = logits_.data() + static_cast<size_t>(sample_row[i]) * vocab;
        sampled_full[static_cast<size_t>(k)] = plan.chunks[i].seq->sampler.Sample(l, vocab);
      }
    });
    metrics_.forward_seconds.Observe(
        std::chrono::duration<double>(forward_end - forward_start).count());
    metrics_.sampling_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - forward_end).count());
    std::vector<int32_t> sampled;
    for (size_t k = 0; k < to_sample.size(); ++k) {
      const ScheduledChunk& c = plan.chunks[to_sample[k]];
      const SampledToken& t = sampled_full[k];
      std::optional<GrammarMatcher>& matcher = c.seq->matcher;
      if (matcher && !c.seq->grammar_failed && !matcher->Accept(t.token)) {
        c.seq->grammar_failed = true;
      }
      c.seq->sampler.AddOutputToken(t.token);
      sampled.push_back(t.token);
    }
    scheduler_.Commit(plan, sampled);
    const auto now = std::chrono::steady_clock::now();
    size_t next = 0;
    for (const auto& c : plan.chunks) {
      if (c.sample) OnToken(c.seq, sampled_full[next++], now);
    }
    metrics_.step_seconds.Observe(std::chrono::duration<double>(now - t0).count());
  }

  // Copies what other threads may read: queue and batch sizes, cache figures.
  void PublishStats() {
    metrics_.running_seqs.store(static_cast<int64_t>(scheduler_.num_running()));
    KvCacheStats stats = cache_->stats();
    metrics_.kv_blocks_used.store(stats.ram_used_blocks);
    std::lock_guard<std::mutex> lock(mu_);
    queued_in_scheduler_ = static_cast<int32_t>(scheduler_.num_waiting());
    metrics_.queue_depth.store(static_cast<int64_t>(incoming_.size()) + queued_in_scheduler_);
    cache_stats_ = stats;
  }

  // Before min_tokens, EOS and stop tokens cannot be sampled.
  void ApplyMinTokens(const Sequence* s, float* logits) const {
    if (s->num_generated() >= s->request.min_tokens) return;
    const float kNegInf = -std::numeric_limits<float>::infinity();
    if (!s->request.ignore_eos) {
      for (int32_t id : eos_ids_) logits[id] = kNegInf;
    }
    for (int32_t id : s->request.stop_token_ids) logits[id] = kNegInf;
  }

  void EmitPromptLogprobs(const ScheduledChunk& c, const float* logits, int32_t vocab) {
    StreamChunk chunk;
    Sequence* s = c.seq;
    if (c.start == 0) {
      TokenLogprob first;
      first.token = s->tokens[0];
      first.logprob = std::nanf("");
      chunk.prompt_logprobs.push_back(first);
    }
    for (int32_t i = 0; i < c.count; ++i) {
      const int32_t pos = c.start + i + 1;  // row i predicts token pos
      if (pos >= s->num_prompt_tokens) break;
      const float* row = logits + static_cast<size_t>(i) * vocab;
      const double lse = LogSumExp(row, vocab);
      TokenLogprob l;
      l.token = s->tokens[static_cast<size_t>(pos)];
      l.logprob = static_cast<float>(row[l.token] - lse);
      const int32_t top = std::max(0, s->request.sampling.num_top_logprobs);
      if (top > 0) {
        std::vector<int32_t> ids(static_cast<size_t>(vocab));
        std::iota(ids.begin(), ids.end(), 0);
        std::partial_sort(ids.begin(), ids.begin() + top, ids.end(), [&](int32_t a, int32_t b) {
          return row[a] > row[b] || (row[a] == row[b] && a < b);
        });
        for (int32_t k = 0; k < top; ++k)
          l.top.emplace_back(ids[k], static_cast<float>(row[ids[k]] - lse));
      }
      chunk.prompt_logprobs.push_back(std::move(l));
    }
    if (!chunk.prompt_logprobs.empty()) s->stream->Push(std::move(chunk));
  }

  void OnToken(Sequence* s, const SampledToken& t, std::chrono::steady_clock::time_point now) {
    metrics_.generation_tokens_total.fetch_add(1);
    if (!s->has_first_token) {
      s->has_first_token = true;
      s->first_token_time = now;
      metrics_.ttft_seconds.Observe(std::chrono::duration<double>(now - s->arrival).count());
      metrics_.prefix_hit_tokens_ram_total.fetch_add(s->usage.cached_tokens_ram);
      metrics_.prefix_hit_tokens_ssd_total.fetch_add(s->usage.cached_tokens_ssd);
    } else {
      metrics_.itl_seconds.Observe(std::chrono::duration<double>(now - s->last_token_time).count());
    }
    s->last_token_time = now;
    if (s->grammar_failed) {
      Finish(s, FinishReason::kError,
             Internal("constrained decoding reached a state that no token can continue"),
             /*remove=*/true);
      return;
    }
    const GenerationRequest& r = s->request;
    const bool past_min = s->num_generated() > r.min_tokens;
    const bool is_eos =
        !r.ignore_eos && std::find(eos_ids_.begin(), eos_ids_.end(), t.token) != eos_ids_.end();
    const bool is_stop_id = std::find(r.stop_token_ids.begin(), r.stop_token_ids.end(), t.token) !=
                            r.stop_token_ids.end();
    StreamChunk chunk;
    chunk.token_ids.push_back(t.token);
    if (r.sampling.num_top_logprobs >= 0)
      chunk.logprobs.push_back({t.token, t.logprob, t.top_logprobs});
    FinishReason finish = FinishReason::kNone;
    if (past_min && (is_eos || is_stop_id)) {
      finish = FinishReason::kStop;  // the stop token itself adds no text
    } else {
      std::string piece = s->detokenizer ? s->detokenizer->Push(t.token) : std::string();
      bool matched = false;
      chunk.text = s->stop.Feed(piece, &matched);
      if (matched && past_min) finish = FinishReason::kStop;
    }
    if (finish == FinishReason::kNone &&
        (s->num_generated() >= r.max_tokens || s->num_tokens() >= max_model_len_)) {
      finish = FinishReason::kLength;
    }
    if (finish == FinishReason::kLength) {
      std::string tail = s->detokenizer ? s->detokenizer->Finish() : std::string();
      bool matched = false;
      chunk.text += s->stop.Feed(tail, &matched);
      if (!matched) chunk.text += s->stop.Flush();
    }
    s->stream->Push(std::move(chunk));
    if (finish != FinishReason::kNone) Finish(s, finish, Status::Ok(), /*remove=*/true);
  }

  // Ends a sequence: final chunk with usage, blocks freed.
  void Finish(Sequence* s, FinishReason reason, const Status& error, bool remove) {
    scheduler_.Remove(s);
    StreamChunk last;
    last.finish = reason;
    last.error = error;
    last.usage = s->usage;
    last.usage.prompt_tokens = s->num_prompt_tokens;
    last.usage.completion_tokens = s->num_generated();
    last.usage.cached_tokens = last.usage.cached_tokens_ram + last.usage.cached_tokens_ssd;
    using Seconds = std::chrono::duration<double>;
    if (s->was_scheduled)
      last.usage.queue_seconds = Seconds(s->first_scheduled - s->arrival).count();
    if (s->has_first_token) {
      last.usage.prefill_seconds = Seconds(s->first_token_time - s->first_scheduled).count();
      last.usage.decode_seconds = Seconds(s->last_token_time - s->first_token_time).count();
    }
    s->stream->Push(std::move(last));
    metrics_.requests_finished_total.fetch_add(1);
    if (remove) sequences_.erase(s->id);
  }

  void DoClearCache() {
    Status s = cache_->DropUnused();
    std::lock_guard<std::mutex> lock(mu_);
    clear_status_ = s;
    clear_done_ = clear_requested_;
    cache_stats_ = cache_->stats();
    stopped_cv_.notify_all();
  }

  const EngineOptions options_;
  std::unique_ptr<Model> model_;
  const text::Tokenizer* tokenizer_;
  std::unique_ptr<KvCache> cache_;
  ThreadPool pool_;
  Scheduler scheduler_;
  const int32_t max_model_len_;
  std::vector<int32_t> eos_ids_;
  std::unordered_map<uint64_t, std::unique_ptr<Sequence>> sequences_;  // engine thread
  StepBuilder builder_;
  HostBuffer logits_;  // page-locked when the model is on a GPU
  uint64_t next_id_ = 1;
  std::mt19937_64 seed_source_;
  EngineMetrics metrics_;

  mutable std::mutex mu_;
  std::condition_variable wake_, stopped_cv_;
  std::deque<Incoming> incoming_;    // guarded by mu_
  int32_t queued_in_scheduler_ = 0;  // guarded by mu_ (written by the engine thread)
  bool stopping_ = false;            // guarded by mu_
  bool stopped_ = false;             // guarded by mu_
  std::chrono::steady_clock::time_point shutdown_deadline_;  // guarded by mu_
  uint64_t clear_requested_ = 0, clear_done_ = 0;            // guarded by mu_
  Status clear_status_;                                      // guarded by mu_
  KvCacheStats cache_stats_;                                 // guarded by mu_
  std::thread thread_;
};

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options,
                                               std::unique_ptr<Model> model,
                                               const text::Tokenizer* tokenizer, FileSystem* fs) {
  RETURN_IF_ERROR(options.Validate());
  const ModelConfig& c = model->config();
  const int32_t max_len =
      options.max_model_len > 0 ? options.max_model_len : c.max_position_embeddings;
  KvCacheOptions kv;
  kv.layout = model->MakeKvLayout(options.block_size, options.kv_dtype);
  kv.num_blocks = options.num_blocks;
  kv.memory_bytes = options.kv_cache_memory_bytes;
  ASSIGN_OR_RETURN(int64_t device_budget, model->KvBudgetBytes(options.gpu_memory_utilization,
                                                               options.max_num_batched_tokens));
  if (device_budget > 0) kv.memory_bytes = device_budget;
  kv.memory = &model->kv_memory();
  auto fp = model->fingerprint();
  kv.model_fingerprint = BlockHash{fp[0], fp[1]};
  kv.ssd = options.ssd;
  // Each rank holds a shard of every block: the SSD tier keeps every rank's in step, and a
  // cached tail block is recomputed rather than copied (only this rank's shard could be).
  if (Communicator* group = model->tensor_parallel_group()) {
    kv.copy_cached_tail = false;
    kv.open_ssd = [group](const SsdCacheOptions& ssd, const BlockHash& fingerprint,
                          KvStorage* storage, FileSystem* file_system) {
      return ShardedSsdTier::Open(group, ssd, fingerprint, storage, file_system);
    };
  }
  ASSIGN_OR_RETURN(std::unique_ptr<KvCache> cache, KvCache::Create(kv, fs));
  if (Communicator* group = model->tensor_parallel_group()) {
    RETURN_IF_ERROR(OpenFollowerPools(group, cache->pool_view()));
  }
  auto impl =
      std::make_unique<Impl>(options, std::move(model), tokenizer, std::move(cache), max_len);
  return std::unique_ptr<Engine>(new Engine(std::move(impl), max_len));
}

Engine::Engine(std::unique_ptr<Impl> impl, int32_t max_model_len)
    : impl_(std::move(impl)), max_model_len_(max_model_len) {}

Engine::~Engine() = default;

Result<std::shared_ptr<RequestStream>> Engine::Submit(GenerationRequest request) {
  return impl_->Submit(std::move(request));
}

void Engine::Shutdown(std::chrono::steady_clock::time_point deadline) {
  impl_->Shutdown(deadline);
  impl_->WaitStopped();
}

Status Engine::ClearCache() { return impl_->ClearCache(); }
const ModelConfig& Engine::model_config() const { return impl_->config(); }
EngineMetricsSnapshot Engine::Metrics() const { return impl_->Metrics(); }
KvCacheStats Engine::CacheStats() const { return impl_->CacheStats(); }

}  // namespace ts
