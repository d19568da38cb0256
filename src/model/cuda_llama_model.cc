#include "model/cuda_llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "base/half.h"
#include "kernels/cuda/cuda_check.h"

namespace ts {
namespace {

using cuda::bf16;

// Bytes of bf16 weights dequantized at a time for large-batch quantized products.
constexpr size_t kDequantSlabBytes = 64u << 20;
constexpr size_t kCublasWorkspaceBytes = 32u << 20;
// Attention's keys per split under --batch-invariant (a token's split depends on its own
// context only).
constexpr int32_t kInvariantSplitKeys = 1024;
// Sequences with at least this many new tokens in a step use the tensor-core tiled attention.
// On the H200 (qwen3-8b's heads, one sequence) it is 2x faster from 32 new tokens on, even at
// 4000 cached; at 16 the CUDA-core kernel, which splits long contexts over more thread
// blocks, ties or wins (BENCHMARKS.md, "CUDA").
constexpr int32_t kTiledMinQueries = 32;
// Device memory kept free of the KV pool for cuBLAS workspaces and the CUDA runtime.
constexpr int64_t kRuntimeReserveBytes = 512ll << 20;

float ScaleAt(const void* p, ScaleType type, size_t i) {
  switch (type) {
    case ScaleType::kF32:
      return static_cast<const float*>(p)[i];
    case ScaleType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(p)[i]);
    case ScaleType::kBf16:
      return Bf16ToF32(static_cast<const uint16_t*>(p)[i]);
  }
  return 0.f;
}

// Appends W's rows as bf16.
void AppendBf16(const WeightMatrix& w, std::vector<uint16_t>& out) {
  const size_t n = static_cast<size_t>(w.rows * w.cols);
  const size_t at = out.size();
  out.resize(at + n);
  switch (w.format) {
    case WeightFormat::kBf16:
      std::memcpy(out.data() + at, w.data, 2 * n);
      return;
    case WeightFormat::kF16:
      for (size_t i = 0; i < n; ++i) {
        out[at + i] = F32ToBf16(F16ToF32(static_cast<const uint16_t*>(w.data)[i]));
      }
      return;
    case WeightFormat::kF32:
      for (size_t i = 0; i < n; ++i) out[at + i] = F32ToBf16(static_cast<const float*>(w.data)[i]);
      return;
    default:
      CHECK(false) << "not a dense format";
  }
}

template <typename T>
Result<CudaBuffer> ToDevice(const T* data, size_t count) {
  ASSIGN_OR_RETURN(CudaBuffer b, CudaBuffer::Allocate(count * sizeof(T)));
  if (count > 0) {
    CUDA_RETURN_IF_ERROR(cudaMemcpy(b.get(), data, count * sizeof(T), cudaMemcpyHostToDevice));
  }
  return b;
}

Result<CudaBuffer> ToDevice(const std::vector<float>& v) { return ToDevice(v.data(), v.size()); }

bool SameFormat(const WeightMatrix& a, const WeightMatrix& b) {
  if (a.is_quantized() != b.is_quantized()) return false;
  return !a.is_quantized() || (a.format == b.format && a.group_size == b.group_size);
}

// The rows of `ws` (one input width) as one device matrix.
Result<std::shared_ptr<const CudaLlamaModel::Matrix>> UploadRows(
    const std::vector<const WeightMatrix*>& ws) {
  auto m = std::make_shared<CudaLlamaModel::Matrix>();
  const WeightMatrix& first = *ws[0];
  m->cols = first.cols;
  for (const WeightMatrix* w : ws) m->rows += w->rows;
  if (!first.is_quantized()) {
    std::vector<uint16_t> bf;
    bf.reserve(static_cast<size_t>(m->rows * m->cols));
    for (const WeightMatrix* w : ws) AppendBf16(*w, bf);
    ASSIGN_OR_RETURN(m->data, ToDevice(bf.data(), bf.size()));
    return std::shared_ptr<const CudaLlamaModel::Matrix>(std::move(m));
  }
  m->quantized = true;
  m->bits = first.bits();
  m->group_size = first.group_size;
  if (m->group_size % 32 != 0) {
    return InvalidArgument(
        "the CUDA backend needs quantization group sizes that are multiples "
        "of 32, not " +
        std::to_string(m->group_size));
  }
  std::vector<uint8_t> q;
  std::vector<float> scales, biases;
  for (const WeightMatrix* w : ws) {
    const size_t bytes = w->row_bytes() * static_cast<size_t>(w->rows);
    const uint8_t* src = static_cast<const uint8_t*>(w->data);
    q.insert(q.end(), src, src + bytes);
    const size_t groups = static_cast<size_t>(w->rows * (w->cols / w->group_size));
    for (size_t i = 0; i < groups; ++i) {
      scales.push_back(ScaleAt(w->scales, w->scale_type, i));
      biases.push_back(ScaleAt(w->biases, w->scale_type, i));
    }
  }
  ASSIGN_OR_RETURN(m->data, ToDevice(q.data(), q.size()));
  ASSIGN_OR_RETURN(m->scales, ToDevice(scales));
  ASSIGN_OR_RETURN(m->biases, ToDevice(biases));
  return std::shared_ptr<const CudaLlamaModel::Matrix>(std::move(m));
}

// A product over the linears side by side: consecutive ones of one format share a matrix.
Result<CudaLlamaModel::Linear> UploadLinear(const std::vector<const Linear*>& ls) {
  CudaLlamaModel::Linear out;
  std::vector<const WeightMatrix*> run;
  for (size_t i = 0; i < ls.size(); ++i) {
    run.push_back(&ls[i]->weight);
    out.out_dim += ls[i]->weight.rows;
    if (i + 1 == ls.size() || !SameFormat(ls[i]->weight, ls[i + 1]->weight)) {
      ASSIGN_OR_RETURN(auto m, UploadRows(run));
      out.parts.push_back(std::move(m));
      run.clear();
    }
  }
  const bool any_bias =
      std::any_of(ls.begin(), ls.end(), [](const Linear* l) { return !l->bias.empty(); });
  if (any_bias) {
    std::vector<float> bias;
    for (const Linear* l : ls) {
      if (l->bias.empty()) {
        bias.insert(bias.end(), static_cast<size_t>(l->weight.rows), 0.f);
      } else {
        bias.insert(bias.end(), l->bias.begin(), l->bias.end());
      }
    }
    ASSIGN_OR_RETURN(out.bias, ToDevice(bias));
  }
  return out;
}

}  // namespace

cuda::QuantMatrix CudaLlamaModel::Matrix::quant() const {
  cuda::QuantMatrix q;
  q.q = data.get<uint8_t>();
  q.scales = scales.get<float>();
  q.biases = biases.get<float>();
  q.rows = rows;
  q.cols = cols;
  q.bits = bits;
  q.group_size = group_size;
  return q;
}

Result<std::unique_ptr<CudaLlamaModel>> CudaLlamaModel::Load(const std::string& model_dir,
                                                             const ModelOptions& options) {
  if (CudaDeviceCount() == 0)
    return FailedPrecondition("--device cuda: no CUDA device is available");
  ASSIGN_OR_RETURN(ModelFolder folder, OpenModelFolder(model_dir));
  const ModelConfig& c = folder.config;
  if (c.head_dim > cuda::kMaxHeadDim || c.head_dim % 2 != 0) {
    return InvalidArgument("the CUDA backend supports even head_dim up to " +
                           std::to_string(cuda::kMaxHeadDim) + ", not " +
                           std::to_string(c.head_dim));
  }
  std::unique_ptr<CudaLlamaModel> m(new CudaLlamaModel());
  m->config_ = c;
  m->batch_invariant_ = options.batch_invariant;
  // Another arithmetic than the CPU's: KV blocks it computes must not meet the CPU's.
  m->fingerprint_ = {folder.fingerprint[0], folder.fingerprint[1] ^ 0x6375646162663136ull};
  m->weight_bytes_per_token_ = WeightBytesPerToken(folder.weights);
  CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&m->stream_, cudaStreamNonBlocking));
  CUBLAS_RETURN_IF_ERROR(cublasCreate(&m->cublas_));
  CUBLAS_RETURN_IF_ERROR(cublasSetStream(m->cublas_, m->stream_));
  CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&m->num_sms_, cudaDevAttrMultiProcessorCount, 0));
  // TS_CUDA_GRAPHS=0 runs decode steps without graphs (to measure what they save).
  const char* graphs = std::getenv("TS_CUDA_GRAPHS");
  m->graphs_enabled_ = graphs == nullptr || std::string(graphs) != "0";
  // TS_CUDA_TILED_MIN_QUERIES=N moves the tensor-core prefill attention's threshold (0: CUDA
  // cores only), to measure it against the CUDA-core kernel.
  const char* tiled = std::getenv("TS_CUDA_TILED_MIN_QUERIES");
  m->tiled_min_queries_ = tiled != nullptr ? std::atoi(tiled) : kTiledMinQueries;
  if (Status s = m->Upload(folder); !s.ok()) {
    return s.WithContext("loading " + model_dir + " onto the GPU");
  }
  return m;
}

Status CudaLlamaModel::Upload(const ModelFolder& folder) {
  const ModelWeights& w = folder.weights;
  ASSIGN_OR_RETURN(embed_, UploadRows({&w.embed}));
  if (w.lm_head.data == w.embed.data) {
    lm_head_.parts = {embed_};
  } else {
    ASSIGN_OR_RETURN(auto head, UploadRows({&w.lm_head}));
    lm_head_.parts = {std::move(head)};
  }
  lm_head_.out_dim = w.lm_head.rows;
  ASSIGN_OR_RETURN(final_norm_, ToDevice(w.final_norm));
  ASSIGN_OR_RETURN(inv_freq_, ToDevice(RopeInvFreqFor(config_)));
  for (const LayerWeights& lw : w.layers) {
    Layer l;
    ASSIGN_OR_RETURN(l.input_norm, ToDevice(lw.input_norm));
    ASSIGN_OR_RETURN(l.post_attn_norm, ToDevice(lw.post_attn_norm));
    ASSIGN_OR_RETURN(l.q_norm, ToDevice(lw.q_norm));
    ASSIGN_OR_RETURN(l.k_norm, ToDevice(lw.k_norm));
    ASSIGN_OR_RETURN(l.qkv, UploadLinear({&lw.q, &lw.k, &lw.v}));
    ASSIGN_OR_RETURN(l.o, UploadLinear({&lw.o}));
    ASSIGN_OR_RETURN(l.gate_up, UploadLinear({&lw.gate, &lw.up}));
    ASSIGN_OR_RETURN(l.down, UploadLinear({&lw.down}));
    layers_.push_back(std::move(l));
  }
  has_quantized_ = embed_->quantized || lm_head_.parts[0]->quantized;
  for (const Layer& l : layers_) {
    for (const Linear* lin : {&l.qkv, &l.o, &l.gate_up, &l.down}) {
      for (const auto& part : lin->parts) has_quantized_ |= part->quantized;
    }
  }
  // cuBLAS must not allocate while a graph is being captured: give it its workspace now.
  ASSIGN_OR_RETURN(cublas_workspace_, CudaBuffer::Allocate(kCublasWorkspaceBytes));
  CUBLAS_RETURN_IF_ERROR(
      cublasSetWorkspace(cublas_, cublas_workspace_.get(), cublas_workspace_.bytes()));
  return Status::Ok();
}

CudaLlamaModel::~CudaLlamaModel() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  ClearGraphs();
  if (host_meta_ != nullptr) cudaFreeHost(host_meta_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

Status CudaLlamaModel::EnsureBuffer(CudaBuffer& b, size_t bytes) {
  if (b.bytes() >= bytes) return Status::Ok();
  CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));  // the old buffer may be in use
  ClearGraphs();                                         // they point at the old buffers
  b = CudaBuffer();
  ASSIGN_OR_RETURN(b, CudaBuffer::Allocate(bytes));
  return Status::Ok();
}

Status CudaLlamaModel::EnsureActivations(int64_t tokens) {
  if (tokens <= capacity_) return Status::Ok();
  const ModelConfig& c = config_;
  const size_t T = static_cast<size_t>(tokens), H = c.hidden_size, I = c.intermediate_size;
  const size_t qd = static_cast<size_t>(c.num_heads) * c.head_dim;
  const size_t kvd = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const size_t widest_input = std::max({H, qd, I});
  RETURN_IF_ERROR(EnsureBuffer(hidden_, T * H * 4));
  RETURN_IF_ERROR(EnsureBuffer(normed_, T * widest_input * 2));
  RETURN_IF_ERROR(EnsureBuffer(qkv_, T * (qd + 2 * kvd) * 4));
  RETURN_IF_ERROR(EnsureBuffer(q_, T * qd * 4));
  RETURN_IF_ERROR(EnsureBuffer(attn_, T * qd * 2));
  RETURN_IF_ERROR(EnsureBuffer(proj_, T * H * 4));
  RETURN_IF_ERROR(EnsureBuffer(gate_up_, T * 2 * I * 4));
  RETURN_IF_ERROR(EnsureBuffer(act_, T * I * 2));
  RETURN_IF_ERROR(EnsureBuffer(logits_, T * static_cast<size_t>(c.vocab_size) * 4));
  if (has_quantized_) RETURN_IF_ERROR(EnsureBuffer(dequant_slab_, kDequantSlabBytes));
  capacity_ = tokens;
  return Status::Ok();
}

Status CudaLlamaModel::MatMul(const Linear& l, const bf16* x, int64_t T, float* y, bool skip_bias) {
  return MatMulInto(l, x, T, y, CUDA_R_32F, skip_bias);
}

Status CudaLlamaModel::MatMulBf16Out(const Linear& l, const bf16* x, int64_t T, bf16* y) {
  CHECK(UsesGemm(T) && l.bias.bytes() == 0) << "bf16 products come from cuBLAS, without bias";
  return MatMulInto(l, x, T, y, CUDA_R_16BF, /*skip_bias=*/false);
}

Status CudaLlamaModel::MatMulInto(const Linear& l, const bf16* x, int64_t T, void* y_out,
                                  cudaDataType_t y_type, bool skip_bias) {
  int64_t col = 0;
  const float one = 1.f, zero = 0.f;
  char* const y_bytes = static_cast<char*>(y_out);
  const size_t y_elem = y_type == CUDA_R_32F ? 4 : 2;
  // Column c of output row 0 (rows are l.out_dim apart).
  auto column = [&](int64_t c) { return y_bytes + static_cast<size_t>(c) * y_elem; };
  auto gemm = [&](const bf16* w, int64_t rows, int64_t K, void* out) {
    return CublasStatus(
        cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(T),
                     static_cast<int>(K), &one, w, CUDA_R_16BF, static_cast<int>(K), x, CUDA_R_16BF,
                     static_cast<int>(K), &zero, out, y_type, static_cast<int>(l.out_dim),
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
  };
  float* const y = static_cast<float*>(y_out);  // the GEMV and bias write float32 only
  for (const auto& part : l.parts) {
    const Matrix& m = *part;
    // Our GEMV computes each token's outputs in one fixed order whatever the batch: batch
    // invariance runs every product through it, eight tokens at a time.
    const bool gemv_ok = m.quantized || m.cols % 8 == 0;
    if (gemv_ok && !UsesGemm(T)) {
      CHECK(y_type == CUDA_R_32F);
      for (int64_t t0 = 0; t0 < T; t0 += cuda::kMaxGemvTokens) {
        const int64_t n = std::min(cuda::kMaxGemvTokens, T - t0);
        const bf16* xt = x + t0 * m.cols;
        float* yt = y + t0 * l.out_dim + col;
        if (m.quantized) {
          cuda::QuantGemv(xt, n, m.quant(), yt, l.out_dim, stream_);
        } else {
          cuda::DenseGemv(xt, n, m.data.get<bf16>(), m.rows, m.cols, yt, l.out_dim, stream_);
        }
      }
    } else if (!m.quantized) {
      RETURN_IF_ERROR(gemm(m.data.get<bf16>(), m.rows, m.cols, column(col)));
    } else {
      // Dequantize slabs of rows to bf16 and multiply them with cuBLAS.
      const int64_t slab_rows = std::max<int64_t>(
          1, static_cast<int64_t>(kDequantSlabBytes / (2 * static_cast<size_t>(m.cols))));
      RETURN_IF_ERROR(EnsureBuffer(dequant_slab_,
                                   static_cast<size_t>(std::min(slab_rows, m.rows) * m.cols * 2)));
      for (int64_t r0 = 0; r0 < m.rows; r0 += slab_rows) {
        const int64_t r1 = std::min(m.rows, r0 + slab_rows);
        cuda::Dequantize(m.quant(), r0, r1, dequant_slab_.get<bf16>(), stream_);
        RETURN_IF_ERROR(gemm(dequant_slab_.get<bf16>(), r1 - r0, m.cols, column(col + r0)));
      }
    }
    col += m.rows;
  }
  if (!skip_bias && l.bias.bytes() > 0) {
    CHECK(y_type == CUDA_R_32F);
    cuda::AddBias(y, l.bias.get<float>(), T, l.out_dim, l.out_dim, stream_);
  }
  return Status::Ok();
}

Result<int64_t> CudaLlamaModel::KvBudgetBytes(double memory_fraction, int32_t max_tokens) {
  RETURN_IF_ERROR(EnsureActivations(max_tokens));
  CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
  const int64_t used = static_cast<int64_t>(total_bytes - free_bytes);
  const int64_t budget = static_cast<int64_t>(memory_fraction * static_cast<double>(total_bytes)) -
                         used - kRuntimeReserveBytes;
  if (budget <= 0) {
    return ResourceExhausted(
        "the model does not fit: weights and activations take " + std::to_string(used >> 20) +
        " MiB of the device's " + std::to_string(total_bytes >> 20) +
        " MiB, leaving nothing for the KV pool under --gpu-memory-utilization " +
        std::to_string(memory_fraction));
  }
  return budget;
}

Status CudaLlamaModel::PackBatch(const StepBatch& b, const KvPoolView& kv, DeviceBatch& d) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens(), S = b.num_seqs();
  // A fixed layout for capacity_ tokens, so that captured graphs find the arrays where they
  // were: int64 slots, six int32 arrays, then the block table with its row stride rounded up
  // to a power of two.
  int32_t stride = 8;
  while (stride < b.max_blocks_per_seq) stride *= 2;
  const size_t C = static_cast<size_t>(capacity_);
  const size_t table_at = 8 * C + 4 * (6 * C + 1);
  const size_t needed = table_at + 4 * C * static_cast<size_t>(stride);
  if (host_meta_bytes_ < needed) {
    CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    if (host_meta_ != nullptr) CUDA_RETURN_IF_ERROR(cudaFreeHost(host_meta_));
    host_meta_ = nullptr;
    host_meta_bytes_ = 0;
    CUDA_RETURN_IF_ERROR(cudaMallocHost(&host_meta_, needed));
    host_meta_bytes_ = needed;
    RETURN_IF_ERROR(EnsureBuffer(meta_, needed));
  }
  auto* host = static_cast<uint8_t*>(host_meta_);
  const uint8_t* dev = meta_.get<uint8_t>();
  std::memcpy(host, b.slot.data(), 8 * static_cast<size_t>(T));
  d.slot = reinterpret_cast<const int64_t*>(dev);
  size_t at = 8 * C;
  auto put = [&](std::span<const int32_t> a, size_t slots) {
    std::memcpy(host + at, a.data(), 4 * a.size());
    const auto* p = reinterpret_cast<const int32_t*>(dev + at);
    at += 4 * slots;
    return p;
  };
  std::vector<int32_t> token_seq(static_cast<size_t>(T));
  int32_t max_context = 0, max_query_len = 0;
  for (int64_t s = 0; s < S; ++s) {
    std::fill(token_seq.begin() + b.query_start[s], token_seq.begin() + b.query_start[s + 1],
              static_cast<int32_t>(s));
    max_context = std::max(max_context, b.context_len[s]);
    max_query_len = std::max(max_query_len, b.query_start[s + 1] - b.query_start[s]);
  }
  d.tokens = put(b.tokens, C);
  d.positions = put(b.positions, C);
  d.attn.query_start = put(b.query_start, C + 1);
  d.attn.context_len = put(b.context_len, C);
  d.attn.token_seq = put(token_seq, C);
  d.logit_rows = put(b.logit_rows, C);
  for (int64_t s = 0; s < S; ++s) {
    std::memcpy(host + table_at + 4 * static_cast<size_t>(s * stride),
                b.block_table.data() + s * b.max_blocks_per_seq, 4 * b.max_blocks_per_seq);
  }
  d.attn.block_table = reinterpret_cast<const int32_t*>(dev + table_at);
  d.attn.max_blocks_per_seq = stride;
  CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(meta_.get(), host_meta_,
                                       table_at + 4 * static_cast<size_t>(S * stride),
                                       cudaMemcpyHostToDevice, stream_));

  d.num_tokens = T;
  d.num_logits = static_cast<int64_t>(b.logit_rows.size());
  d.attn.kv_dtype = kv.layout.dtype;
  d.attn.block_size = kv.layout.block_size;
  d.attn.num_heads = c.num_heads;
  d.attn.num_kv_heads = c.num_kv_heads;
  d.attn.head_dim = c.head_dim;
  d.attn.scale = 1.f / std::sqrt(static_cast<float>(c.head_dim));
  d.attn.num_tokens = T;
  d.attn.num_seqs = static_cast<int32_t>(S);
  d.attn.max_context = max_context;
  d.attn.max_query_len = max_query_len;
  d.attn.split_keys = batch_invariant_ ? kInvariantSplitKeys : 0;
  d.attn.tiled_min_queries = batch_invariant_ ? 0 : tiled_min_queries_;
  const int64_t scratch_floats = cuda::AttentionScratchFloats(d.attn, num_sms_);
  RETURN_IF_ERROR(EnsureBuffer(attention_scratch_, static_cast<size_t>(scratch_floats) * 4));
  d.num_splits = cuda::AttentionSplits(d.attn, num_sms_);

  d.qkv.num_heads = c.num_heads;
  d.qkv.num_kv_heads = c.num_kv_heads;
  d.qkv.head_dim = c.head_dim;
  d.qkv.block_size = kv.layout.block_size;
  d.qkv.kv_dtype = kv.layout.dtype;
  d.qkv.eps = c.rms_norm_eps;
  d.qkv.inv_freq = inv_freq_.get<float>();
  d.qkv.positions = d.positions;
  d.qkv.slot = d.slot;
  return Status::Ok();
}

Status CudaLlamaModel::RunLayers(DeviceBatch& d, const KvPoolView& kv) {
  const ModelConfig& c = config_;
  const int64_t T = d.num_tokens, R = d.num_logits;
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  float* hidden = hidden_.get<float>();
  float* proj = proj_.get<float>();
  bf16* normed = normed_.get<bf16>();
  if (embed_->quantized) {
    cuda::EmbedQuant(embed_->quant(), d.tokens, T, hidden, stream_);
  } else {
    cuda::EmbedBf16(embed_->data.get<bf16>(), H, d.tokens, T, hidden, stream_);
  }
  const float* pending = nullptr;  // the residual branch not yet added to hidden
  for (int32_t layer = 0; layer < c.num_layers; ++layer) {
    const Layer& w = layers_[static_cast<size_t>(layer)];
    cuda::AddRmsNorm(hidden, pending, w.input_norm.get<float>(), nullptr, T, H, c.rms_norm_eps,
                     normed, stream_);
    RETURN_IF_ERROR(MatMul(w.qkv, normed, T, qkv_.get<float>(), /*skip_bias=*/true));
    d.qkv.bias = w.qkv.bias.get<float>();
    d.qkv.q_norm = c.qk_norm ? w.q_norm.get<float>() : nullptr;
    d.qkv.k_norm = c.qk_norm ? w.k_norm.get<float>() : nullptr;
    cuda::QkvRopeWriteKv(qkv_.get<float>(), T, d.qkv, q_.get<float>(), kv.k[layer], kv.v[layer],
                         stream_);
    d.attn.k_pool = kv.k[layer];
    d.attn.v_pool = kv.v[layer];
    cuda::PagedAttention(q_.get<float>(), d.attn, attention_scratch_.get<float>(), num_sms_,
                         attn_.get<bf16>(), stream_);
    RETURN_IF_ERROR(MatMul(w.o, attn_.get<bf16>(), T, proj));
    cuda::AddRmsNorm(hidden, proj, w.post_attn_norm.get<float>(), nullptr, T, H, c.rms_norm_eps,
                     normed, stream_);
    // Through cuBLAS (prefill) gate and up are written as bf16: the largest product's output
    // crosses memory twice (written, then read by SiLU-mul), at half the bytes of float32.
    if (UsesGemm(T) && w.gate_up.bias.bytes() == 0) {
      RETURN_IF_ERROR(MatMulBf16Out(w.gate_up, normed, T, gate_up_.get<bf16>()));
      cuda::SiluMul(gate_up_.get<bf16>(), T, I, act_.get<bf16>(), stream_);
    } else {
      RETURN_IF_ERROR(MatMul(w.gate_up, normed, T, gate_up_.get<float>()));
      cuda::SiluMul(gate_up_.get<float>(), T, I, act_.get<bf16>(), stream_);
    }
    RETURN_IF_ERROR(MatMul(w.down, act_.get<bf16>(), T, proj));
    pending = proj;
  }
  if (pending != nullptr) cuda::AddInPlace(hidden, pending, T * H, stream_);
  if (R > 0) {
    cuda::AddRmsNorm(hidden, nullptr, final_norm_.get<float>(), d.logit_rows, R, H, c.rms_norm_eps,
                     normed, stream_);
    RETURN_IF_ERROR(MatMul(lm_head_, normed, R, logits_.get<float>()));
  }
  return Status::Ok();
}

void CudaLlamaModel::ClearGraphs() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

Status CudaLlamaModel::Forward(const StepBatch& b, const KvPoolView& kv, float* logits,
                               ThreadPool& /*pool*/) {
  const int64_t T = b.num_tokens();
  if (T == 0) return Status::Ok();
  RETURN_IF_ERROR(EnsureActivations(T));
  DeviceBatch d;
  RETURN_IF_ERROR(PackBatch(b, kv, d));
  // Decode steps (one token a sequence) replay a graph captured for their shape: hundreds
  // of launches, and cuBLAS's per-call host work, become one launch.
  const bool decode = T == b.num_seqs() && T <= kMaxGraphTokens && graphs_enabled_;
  if (decode) {
    const GraphKey key{T,
                       d.num_logits,
                       d.attn.max_blocks_per_seq,
                       d.num_splits,
                       static_cast<int>(kv.layout.dtype),
                       kv.layout.block_size,
                       kv.k[0]};
    auto it = graphs_.find(key);
    if (it == graphs_.end()) {
      cudaGraph_t graph = nullptr;
      CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      Status s = RunLayers(d, kv);
      const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
      RETURN_IF_ERROR(s);
      CUDA_RETURN_IF_ERROR(end);
      cudaGraphExec_t exec = nullptr;
      const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
      cudaGraphDestroy(graph);
      CUDA_RETURN_IF_ERROR(inst);
      it = graphs_.emplace(key, exec).first;
    }
    CUDA_RETURN_IF_ERROR(cudaGraphLaunch(it->second, stream_));
  } else {
    RETURN_IF_ERROR(RunLayers(d, kv));
  }
  if (d.num_logits > 0) {
    CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(logits, logits_.get(),
                                         static_cast<size_t>(d.num_logits * config_.vocab_size) * 4,
                                         cudaMemcpyDeviceToHost, stream_));
  }
  CUDA_RETURN_IF_ERROR(cudaGetLastError());
  CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

}  // namespace ts
