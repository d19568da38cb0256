#include "model/cuda_llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include "base/half.h"
#include "kernels/cuda/cuda_check.h"

namespace ts {
namespace {

using cuda::bf16;

// Bytes of bf16 weights dequantized at a time for large-batch quantized products.
constexpr size_t kDequantSlabBytes = 64u << 20;
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

Result<std::unique_ptr<CudaLlamaModel>> CudaLlamaModel::Load(const std::string& model_dir) {
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
  // Another arithmetic than the CPU's: KV blocks it computes must not meet the CPU's.
  m->fingerprint_ = {folder.fingerprint[0], folder.fingerprint[1] ^ 0x6375646162663136ull};
  m->weight_bytes_per_token_ = WeightBytesPerToken(folder.weights);
  CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&m->stream_, cudaStreamNonBlocking));
  CUBLAS_RETURN_IF_ERROR(cublasCreate(&m->cublas_));
  CUBLAS_RETURN_IF_ERROR(cublasSetStream(m->cublas_, m->stream_));
  CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&m->num_sms_, cudaDevAttrMultiProcessorCount, 0));
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
  return Status::Ok();
}

CudaLlamaModel::~CudaLlamaModel() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (host_meta_ != nullptr) cudaFreeHost(host_meta_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

Status CudaLlamaModel::EnsureBuffer(CudaBuffer& b, size_t bytes) {
  if (b.bytes() >= bytes) return Status::Ok();
  CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));  // the old buffer may be in use
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
  capacity_ = tokens;
  return Status::Ok();
}

Status CudaLlamaModel::MatMul(const Linear& l, const bf16* x, int64_t T, float* y, bool skip_bias) {
  int64_t col = 0;
  const float one = 1.f, zero = 0.f;
  auto gemm = [&](const bf16* w, int64_t rows, int64_t K, float* out) {
    return CublasStatus(
        cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(T),
                     static_cast<int>(K), &one, w, CUDA_R_16BF, static_cast<int>(K), x, CUDA_R_16BF,
                     static_cast<int>(K), &zero, out, CUDA_R_32F, static_cast<int>(l.out_dim),
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
  };
  for (const auto& part : l.parts) {
    const Matrix& m = *part;
    if (!m.quantized) {
      RETURN_IF_ERROR(gemm(m.data.get<bf16>(), m.rows, m.cols, y + col));
    } else if (T <= cuda::kMaxGemvTokens) {
      cuda::QuantGemv(x, T, m.quant(), y + col, l.out_dim, stream_);
    } else {
      // Dequantize slabs of rows to bf16 and multiply them with cuBLAS.
      const int64_t slab_rows = std::max<int64_t>(
          1, static_cast<int64_t>(kDequantSlabBytes / (2 * static_cast<size_t>(m.cols))));
      RETURN_IF_ERROR(EnsureBuffer(dequant_slab_,
                                   static_cast<size_t>(std::min(slab_rows, m.rows) * m.cols * 2)));
      for (int64_t r0 = 0; r0 < m.rows; r0 += slab_rows) {
        const int64_t r1 = std::min(m.rows, r0 + slab_rows);
        cuda::Dequantize(m.quant(), r0, r1, dequant_slab_.get<bf16>(), stream_);
        RETURN_IF_ERROR(gemm(dequant_slab_.get<bf16>(), r1 - r0, m.cols, y + col + r0));
      }
    }
    col += m.rows;
  }
  if (!skip_bias && l.bias.bytes() > 0) {
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

Status CudaLlamaModel::Forward(const StepBatch& b, const KvPoolView& kv, float* logits,
                               ThreadPool& /*pool*/) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens(), S = b.num_seqs();
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  if (T == 0) return Status::Ok();
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  RETURN_IF_ERROR(EnsureActivations(T));

  // The batch's arrays, packed: int64 slots first (aligned), then the int32 arrays.
  std::vector<int32_t> token_seq(static_cast<size_t>(T));
  int32_t max_context = 0;
  for (int64_t s = 0; s < S; ++s) {
    std::fill(token_seq.begin() + b.query_start[s], token_seq.begin() + b.query_start[s + 1],
              static_cast<int32_t>(s));
    max_context = std::max(max_context, b.context_len[s]);
  }
  const std::span<const int32_t> arrays[] = {
      b.tokens, b.positions, b.query_start, b.context_len, b.block_table, token_seq, b.logit_rows};
  size_t words = 0;
  for (const auto& a : arrays) words += a.size();
  const size_t meta_bytes = 8 * static_cast<size_t>(T) + 4 * words;
  if (host_meta_bytes_ < meta_bytes) {
    if (host_meta_ != nullptr) CUDA_RETURN_IF_ERROR(cudaFreeHost(host_meta_));
    host_meta_ = nullptr;
    CUDA_RETURN_IF_ERROR(cudaMallocHost(&host_meta_, meta_bytes * 2));
    host_meta_bytes_ = meta_bytes * 2;
  }
  RETURN_IF_ERROR(EnsureBuffer(meta_, host_meta_bytes_));
  std::memcpy(host_meta_, b.slot.data(), 8 * static_cast<size_t>(T));
  const int32_t* device_arrays[std::size(arrays)];
  {
    size_t at = 8 * static_cast<size_t>(T);
    for (size_t i = 0; i < std::size(arrays); ++i) {
      std::memcpy(static_cast<uint8_t*>(host_meta_) + at, arrays[i].data(), 4 * arrays[i].size());
      device_arrays[i] = reinterpret_cast<const int32_t*>(meta_.get<uint8_t>() + at);
      at += 4 * arrays[i].size();
    }
  }
  CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(meta_.get(), host_meta_, meta_bytes, cudaMemcpyHostToDevice, stream_));
  const int32_t* d_tokens = device_arrays[0];
  const int32_t* d_positions = device_arrays[1];
  const int64_t* d_slot = meta_.get<int64_t>();

  cuda::AttentionArgs attn;
  attn.kv_dtype = kv.layout.dtype;
  attn.block_size = kv.layout.block_size;
  attn.num_heads = c.num_heads;
  attn.num_kv_heads = c.num_kv_heads;
  attn.head_dim = c.head_dim;
  attn.scale = 1.f / std::sqrt(static_cast<float>(c.head_dim));
  attn.query_start = device_arrays[2];
  attn.context_len = device_arrays[3];
  attn.block_table = device_arrays[4];
  attn.max_blocks_per_seq = b.max_blocks_per_seq;
  attn.token_seq = device_arrays[5];
  attn.num_tokens = T;
  attn.max_context = max_context;
  const int64_t scratch_floats = cuda::AttentionScratchFloats(attn, num_sms_);
  RETURN_IF_ERROR(EnsureBuffer(attention_scratch_, static_cast<size_t>(scratch_floats) * 4));

  cuda::QkvArgs qkv;
  qkv.num_heads = c.num_heads;
  qkv.num_kv_heads = c.num_kv_heads;
  qkv.head_dim = c.head_dim;
  qkv.block_size = kv.layout.block_size;
  qkv.kv_dtype = kv.layout.dtype;
  qkv.eps = c.rms_norm_eps;
  qkv.inv_freq = inv_freq_.get<float>();
  qkv.positions = d_positions;
  qkv.slot = d_slot;

  float* hidden = hidden_.get<float>();
  float* proj = proj_.get<float>();
  bf16* normed = normed_.get<bf16>();
  if (embed_->quantized) {
    cuda::EmbedQuant(embed_->quant(), d_tokens, T, hidden, stream_);
  } else {
    cuda::EmbedBf16(embed_->data.get<bf16>(), H, d_tokens, T, hidden, stream_);
  }
  const float* pending = nullptr;  // the residual branch not yet added to hidden
  for (int32_t layer = 0; layer < c.num_layers; ++layer) {
    const Layer& w = layers_[static_cast<size_t>(layer)];
    cuda::AddRmsNorm(hidden, pending, w.input_norm.get<float>(), nullptr, T, H, c.rms_norm_eps,
                     normed, stream_);
    RETURN_IF_ERROR(MatMul(w.qkv, normed, T, qkv_.get<float>(), /*skip_bias=*/true));
    qkv.bias = w.qkv.bias.get<float>();
    qkv.q_norm = c.qk_norm ? w.q_norm.get<float>() : nullptr;
    qkv.k_norm = c.qk_norm ? w.k_norm.get<float>() : nullptr;
    cuda::QkvRopeWriteKv(qkv_.get<float>(), T, qkv, q_.get<float>(), kv.k[layer], kv.v[layer],
                         stream_);
    attn.k_pool = kv.k[layer];
    attn.v_pool = kv.v[layer];
    cuda::PagedAttention(q_.get<float>(), attn, attention_scratch_.get<float>(), num_sms_,
                         attn_.get<bf16>(), stream_);
    RETURN_IF_ERROR(MatMul(w.o, attn_.get<bf16>(), T, proj));
    cuda::AddRmsNorm(hidden, proj, w.post_attn_norm.get<float>(), nullptr, T, H, c.rms_norm_eps,
                     normed, stream_);
    RETURN_IF_ERROR(MatMul(w.gate_up, normed, T, gate_up_.get<float>()));
    cuda::SiluMul(gate_up_.get<float>(), T, I, act_.get<bf16>(), stream_);
    RETURN_IF_ERROR(MatMul(w.down, act_.get<bf16>(), T, proj));
    pending = proj;
  }
  if (pending != nullptr) cuda::AddInPlace(hidden, pending, T * H, stream_);
  if (R > 0) {
    cuda::AddRmsNorm(hidden, nullptr, final_norm_.get<float>(), device_arrays[6], R, H,
                     c.rms_norm_eps, normed, stream_);
    RETURN_IF_ERROR(MatMul(lm_head_, normed, R, logits_.get<float>()));
    CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(logits, logits_.get(),
                                         static_cast<size_t>(R * c.vocab_size) * 4,
                                         cudaMemcpyDeviceToHost, stream_));
  }
  CUDA_RETURN_IF_ERROR(cudaGetLastError());
  CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

}  // namespace ts
