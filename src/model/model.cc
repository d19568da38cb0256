#include "model/model.h"

#include <xxhash.h>

#include "base/check.h"
#include "base/mapped_file.h"
#include "kernels/elementwise.h"
#include "model/llama_model.h"
#ifdef TIERSERVE_CUDA
#include "model/cuda_llama_model.h"
#endif

namespace ts {
namespace {

// Hash of the config text and a sample of every tensor's bytes (4 KiB at 16 evenly spaced
// places, plus names, shapes and dtypes): distinct models differ nearly everywhere, and
// reading a sample keeps start-up fast for multi-GB folders.
std::array<uint64_t, 2> Fingerprint(const std::string& config_text, const TensorStore& store) {
  XXH3_state_t* state = XXH3_createState();
  CHECK(state != nullptr);
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, config_text.data(), config_text.size());
  std::string identity = store.IdentityString();
  XXH3_128bits_update(state, identity.data(), identity.size());
  for (const std::string& name : store.Names()) {
    const TensorView* t = store.Find(name);
    const size_t bytes = t->info->end - t->info->begin;
    constexpr size_t kSample = 4 << 10, kPlaces = 16;
    if (bytes <= kSample * kPlaces) {
      XXH3_128bits_update(state, t->data, bytes);
      continue;
    }
    for (size_t i = 0; i < kPlaces; ++i) {
      const size_t at = (bytes - kSample) / (kPlaces - 1) * i;
      XXH3_128bits_update(state, t->data + at, kSample);
    }
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {h.low64, h.high64};
}

}  // namespace

Result<Device> ParseDevice(const std::string& text) {
  if (text == "cpu") return Device::kCpu;
  if (text == "cuda" || text == "cuda:0") return Device::kCuda;
  return InvalidArgument("unknown device '" + text + "' (expected cpu or cuda)");
}

bool DeviceAvailable(Device device) {
  if (device == Device::kCpu) return true;
#ifdef TIERSERVE_CUDA
  return CudaDeviceCount() > 0;
#else
  return false;
#endif
}

Result<ModelFolder> OpenModelFolder(const std::string& model_dir) {
  ModelFolder f;
  ASSIGN_OR_RETURN(std::string config_text,
                   ReadFileToString(model_dir + "/config.json", 16u << 20));
  ASSIGN_OR_RETURN(f.config, LoadModelConfig(model_dir));
  ASSIGN_OR_RETURN(f.store, TensorStore::Open(model_dir));
  ASSIGN_OR_RETURN(f.weights, BindWeights(f.config, f.store));
  f.fingerprint = Fingerprint(config_text, f.store);
  return f;
}

std::vector<float> RopeInvFreqFor(const ModelConfig& c) {
  std::vector<float> inv_freq(static_cast<size_t>(c.head_dim / 2));
  RopeScaling scaling;
  scaling.factor = c.rope.llama3_factor;
  scaling.low_freq_factor = c.rope.llama3_low_freq_factor;
  scaling.high_freq_factor = c.rope.llama3_high_freq_factor;
  scaling.original_max_position = static_cast<float>(c.rope.llama3_original_max_position);
  RopeInvFreq(c.head_dim, c.rope.theta, scaling, inv_freq.data());
  return inv_freq;
}

Result<std::unique_ptr<Model>> LoadModel(const std::string& model_dir, Device device,
                                         const ModelOptions& options) {
  if (device == Device::kCpu) {
    ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> m, LlamaModel::Load(model_dir, options));
    return std::unique_ptr<Model>(std::move(m));
  }
  if (options.communicator != nullptr && options.communicator->size() > 1) {
    return Unimplemented("--tensor-parallel runs on the CPU only so far (--device cpu)");
  }
#ifdef TIERSERVE_CUDA
  ASSIGN_OR_RETURN(std::unique_ptr<CudaLlamaModel> m, CudaLlamaModel::Load(model_dir, options));
  return std::unique_ptr<Model>(std::move(m));
#else
  (void)options;
  return FailedPrecondition("this tierserve was built without CUDA (TIERSERVE_CUDA=OFF)");
#endif
}

KvLayout Model::MakeKvLayout(int32_t block_size, KvDtype dtype) const {
  KvLayout layout;
  layout.num_layers = config_.num_layers;
  layout.num_kv_heads = config_.num_kv_heads / tensor_parallel_size();
  layout.head_dim = config_.head_dim;
  layout.block_size = block_size;
  layout.dtype = dtype;
  return layout;
}

Status Model::ValidateBatch(const StepBatch& b, const KvPoolView& kv) const {
  const int32_t S = b.num_seqs(), T = b.num_tokens();
  if (b.query_start.size() != static_cast<size_t>(S) + 1 || b.query_start[0] != 0 ||
      b.query_start[S] != T) {
    return InvalidArgument("query_start must have S+1 entries from 0 to T");
  }
  if (b.positions.size() != static_cast<size_t>(T) || b.slot.size() != static_cast<size_t>(T)) {
    return InvalidArgument("positions and slot need one entry per token");
  }
  if (b.block_table.size() != static_cast<size_t>(S) * b.max_blocks_per_seq) {
    return InvalidArgument("block_table must be S x max_blocks_per_seq");
  }
  const KvLayout& L = kv.layout;
  if (L.num_layers != config_.num_layers ||
      L.num_kv_heads != config_.num_kv_heads / tensor_parallel_size() ||
      L.head_dim != config_.head_dim) {
    return InvalidArgument("KV pool layout does not match the model");
  }
  for (int32_t s = 0; s < S; ++s) {
    const int64_t n = static_cast<int64_t>(b.query_start[s + 1]) - b.query_start[s];
    if (n < 0 || b.context_len[s] < n) return InvalidArgument("context_len < new tokens");
    const int64_t blocks =
        (static_cast<int64_t>(b.context_len[s]) + L.block_size - 1) / L.block_size;
    if (blocks > b.max_blocks_per_seq) return InvalidArgument("block table too short");
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t id = b.block_table[static_cast<size_t>(s) * b.max_blocks_per_seq + i];
      if (id < 0 || id >= kv.num_blocks) return InvalidArgument("block id out of range");
    }
  }
  for (int32_t t = 0; t < T; ++t) {
    if (b.tokens[t] < 0 || b.tokens[t] >= config_.vocab_size) {
      return InvalidArgument("token id " + std::to_string(b.tokens[t]) + " out of vocabulary");
    }
    if (b.slot[t] < 0 || b.slot[t] >= static_cast<int64_t>(kv.num_blocks) * L.block_size) {
      return InvalidArgument("slot out of range");
    }
  }
  for (int32_t r : b.logit_rows) {
    if (r < 0 || r >= T) return InvalidArgument("logit row out of range");
  }
  return Status::Ok();
}

}  // namespace ts
