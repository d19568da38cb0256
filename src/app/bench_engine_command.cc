// `tierserve bench-engine`: the engine's raw speed on one model, no server: prefill tokens/s
// for one prompt, and decode tokens/s for batches of sequences at a given context length.
// Decode batches start from a KV cache filled with random values (the cost of attention does
// not depend on them), so a batch of 16 at context 256 needs no 4096-token prefill first.
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/tensor_parallel_group.h"
#include "base/half.h"
#include "base/log.h"
#include "engine/step_builder.h"
#include "engine/tensor_parallel_follower.h"
#include "kernels/host_buffer.h"
#include "kv/kv_storage.h"
#include "model/model.h"

namespace ts::app {
namespace {

struct BenchFlags {
  std::string model;
  std::string device = "cpu";
  ModelOptions model_options;
  int32_t threads = 0;
  int32_t tensor_parallel = 1;
  int32_t prefill_tokens = 512;
  int32_t prefill_chunk = 512;
  std::string batches = "1,4,16";
  int32_t context = 256;
  int32_t decode_steps = 16;
  int32_t repeats = 3;
  int32_t block_size = 16;
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Measures on rank 0 of `group` (null: one rank); the other ranks follow its steps.
Status RunOn(const BenchFlags& f, Communicator* group) {
  ASSIGN_OR_RETURN(const Device device, ParseDevice(f.device));
  ModelOptions model_options = f.model_options;
  model_options.communicator = group;
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(f.model, device, model_options));
  const ModelConfig& c = model->config();
  const int threads = ThreadsPerRank(f.threads, group);
  ThreadPool pool(threads);
  if (group != nullptr && !group->is_leader()) {
    PosixFileSystem fs;
    return RunTensorParallelFollower(*model, *group, pool, &fs);
  }
  std::vector<int32_t> batches;
  {
    std::stringstream ss(f.batches);
    std::string item;
    while (std::getline(ss, item, ',')) batches.push_back(std::stoi(item));
  }
  const int32_t max_batch = *std::max_element(batches.begin(), batches.end());
  // The prefill run uses blocks [0, prefill_blocks); decode sequence s uses its own
  // decode_blocks from s * decode_blocks. The runs never overlap in time.
  const int32_t prefill_blocks = (f.prefill_tokens + f.block_size - 1) / f.block_size;
  const int32_t decode_blocks = (f.context + f.decode_steps + f.block_size - 1) / f.block_size;
  ASSIGN_OR_RETURN(
      KvStorage storage,
      KvStorage::Create(model->MakeKvLayout(f.block_size, KvDtype::kBf16),
                        std::max(prefill_blocks, decode_blocks * max_batch), model->kv_memory()));
  // Random KV (bf16 values in [-1, 1)) for the decode runs: a few random blocks, repeated
  // through the pool (generating tens of GB of random numbers would take minutes).
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  const size_t elems = storage.layout().block_bytes() / 2;
  std::vector<std::vector<uint8_t>> blocks(8, std::vector<uint8_t>(storage.layout().block_bytes()));
  for (auto& block : blocks) {
    for (size_t i = 0; i < elems; ++i) {
      uint16_t h = F32ToBf16(dist(rng));
      std::memcpy(block.data() + 2 * i, &h, 2);
    }
  }
  for (int32_t b = 0; b < storage.num_blocks(); ++b) {
    storage.CopyBlockIn(b, blocks[static_cast<size_t>(b) % blocks.size()]);
  }
  auto blocks_of = [&](int32_t first, int32_t count) {
    std::vector<int32_t> ids(static_cast<size_t>(count));
    std::iota(ids.begin(), ids.end(), first);
    return ids;
  };
  std::vector<int32_t> prompt(static_cast<size_t>(f.prefill_tokens));
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
  HostBuffer logits(model->kv_memory());  // page-locked on a GPU, as the engine's
  RETURN_IF_ERROR(logits.Reserve(static_cast<size_t>(max_batch) * c.vocab_size));
  StepBuilder step;

  std::printf(
      "model %s: %d layers, hidden %d, %.2f GB of weights read per decode step (per rank); "
      "%d threads, %d ranks\n",
      f.model.c_str(), c.num_layers, c.hidden_size,
      static_cast<double>(model->weight_bytes_per_token()) / 1e9, threads,
      model->tensor_parallel_size());
  // Prefill: best of repeats.
  double best = 0;
  for (int r = 0; r < f.repeats; ++r) {
    auto t0 = Clock::now();
    for (int32_t done = 0; done < f.prefill_tokens;) {
      const int32_t n = std::min(f.prefill_chunk, f.prefill_tokens - done);
      step.Reset(f.block_size, prefill_blocks);
      std::vector<int32_t> ids = blocks_of(0, prefill_blocks);
      step.AddSequence(std::span(prompt).subspan(static_cast<size_t>(done), static_cast<size_t>(n)),
                       done, ids, done + n == f.prefill_tokens);
      RETURN_IF_ERROR(model->Forward(step.batch(), storage.view(), logits.data(), pool));
      done += n;
    }
    best = std::max(best, f.prefill_tokens / Seconds(t0, Clock::now()));
  }
  std::printf("prefill %d tokens: %.1f tokens/s\n", f.prefill_tokens, best);

  for (int32_t batch : batches) {
    std::vector<std::vector<int32_t>> ids;
    for (int32_t s = 0; s < batch; ++s) ids.push_back(blocks_of(s * decode_blocks, decode_blocks));
    double best_rate = 0;
    for (int r = 0; r < f.repeats; ++r) {
      auto t0 = Clock::now();
      for (int32_t i = 0; i < f.decode_steps; ++i) {
        step.Reset(f.block_size, decode_blocks);
        for (int32_t s = 0; s < batch; ++s) {
          const int32_t token = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
          step.AddSequence(std::span(&token, 1), f.context + i, ids[static_cast<size_t>(s)], true);
        }
        RETURN_IF_ERROR(model->Forward(step.batch(), storage.view(), logits.data(), pool));
      }
      best_rate = std::max(best_rate, batch * f.decode_steps / Seconds(t0, Clock::now()));
    }
    std::printf(
        "decode batch %d at context %d: %.1f tokens/s aggregate (%.1f per sequence), %.1f GB/s of "
        "weights\n",
        batch, f.context, best_rate, best_rate / batch,
        best_rate / batch * static_cast<double>(model->weight_bytes_per_token()) / 1e9);
  }
  return Status::Ok();
}

Status Run(const BenchFlags& f) {
  return RunOnRanks(f.tensor_parallel, [&](Communicator* group) { return RunOn(f, group); });
}

}  // namespace

void RegisterBenchEngineCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench-engine", "Measure prefill and batched decode speed");
  cmd->add_option("--model", f->model, "Model folder")->required();
  cmd->add_option("--device", f->device, "cpu or cuda (CUDA builds)")->capture_default_str();
  AddModelOptionFlags(cmd, &f->model_options);
  cmd->add_option("--threads", f->threads,
                  "Worker threads per rank (default: all cores, shared by the ranks)");
  cmd->add_option("--tensor-parallel", f->tensor_parallel,
                  "Split the model over N ranks (as serve --tensor-parallel)")
      ->capture_default_str();
  cmd->add_option("--prefill-tokens", f->prefill_tokens)->capture_default_str();
  cmd->add_option("--prefill-chunk", f->prefill_chunk)->capture_default_str();
  cmd->add_option("--batches", f->batches, "Decode batch sizes, comma-separated")
      ->capture_default_str();
  cmd->add_option("--context", f->context, "Tokens in each sequence's cache when decoding")
      ->capture_default_str();
  cmd->add_option("--decode-steps", f->decode_steps)->capture_default_str();
  cmd->add_option("--repeats", f->repeats, "Runs per figure; the best is reported")
      ->capture_default_str();
  cmd->callback([f, exit_code] {
    Status s = Run(*f);
    if (!s.ok()) {
      LOG(ERROR) << "bench-engine: " << s.ToString();
      *exit_code = 1;
    }
  });
}

}  // namespace ts::app
