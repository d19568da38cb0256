#include "model/model_weights.h"

#include <cstring>

#include "base/half.h"

namespace ts {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Status ShapeError(const TensorView& t, const std::vector<int64_t>& want) {
  return InvalidArgument(t.file + ": tensor '" + t.info->name + "' has shape " +
                         ShapeString(t.info->shape) + ", expected " + ShapeString(want));
}

Result<const TensorView*> GetShaped(const TensorStore& store, const std::string& name,
                                    const std::vector<int64_t>& shape) {
  ASSIGN_OR_RETURN(const TensorView* t, store.Get(name));
  if (t->info->shape != shape) return ShapeError(*t, shape);
  return t;
}

Result<ScaleType> FloatTypeOf(const TensorView& t) {
  switch (t.info->dtype) {
    case DType::kF32:
      return ScaleType::kF32;
    case DType::kF16:
      return ScaleType::kF16;
    case DType::kBf16:
      return ScaleType::kBf16;
    default:
      return InvalidArgument(t.file + ": tensor '" + t.info->name + "' has dtype " +
                             std::string(DTypeName(t.info->dtype)) + ", expected F32/F16/BF16");
  }
}

// A float vector (norm weight, bias) of `size` elements converted to f32.
Result<std::vector<float>> LoadVector(const TensorStore& store, const std::string& name,
                                      int64_t size) {
  ASSIGN_OR_RETURN(const TensorView* t, GetShaped(store, name, {size}));
  ASSIGN_OR_RETURN(ScaleType type, FloatTypeOf(*t));
  std::vector<float> out(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    if (type == ScaleType::kF32) {
      std::memcpy(&out[i], t->data + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, t->data + 2 * i, 2);
      out[i] = type == ScaleType::kF16 ? F16ToF32(h) : Bf16ToF32(h);
    }
  }
  return out;
}

// `module` without the ".weight" suffix. Quantized exactly when module.scales exists.
Result<WeightMatrix> LoadMatrix(const ModelConfig& config, const TensorStore& store,
                                const std::string& module, int64_t rows, int64_t cols) {
  WeightMatrix w;
  w.rows = rows;
  w.cols = cols;
  if (store.Find(module + ".scales") == nullptr) {
    ASSIGN_OR_RETURN(const TensorView* t, GetShaped(store, module + ".weight", {rows, cols}));
    ASSIGN_OR_RETURN(ScaleType type, FloatTypeOf(*t));
    w.format = type == ScaleType::kF32   ? WeightFormat::kF32
               : type == ScaleType::kF16 ? WeightFormat::kF16
                                         : WeightFormat::kBf16;
    w.data = t->data;
    return w;
  }
  QuantSpec spec = config.QuantFor(module);
  if (spec.bits == 0) {
    return InvalidArgument(module +
                           " has quantization scales but config.json declares no "
                           "quantization for it");
  }
  if (cols % spec.group_size != 0) {
    return InvalidArgument(module + ": input size " + std::to_string(cols) +
                           " is not a multiple of group_size " + std::to_string(spec.group_size));
  }
  const int64_t groups = cols / spec.group_size;
  ASSIGN_OR_RETURN(const TensorView* q,
                   GetShaped(store, module + ".weight", {rows, cols * spec.bits / 32}));
  if (q->info->dtype != DType::kU32) {
    return InvalidArgument(q->file + ": quantized tensor '" + q->info->name + "' must be U32");
  }
  ASSIGN_OR_RETURN(const TensorView* scales, GetShaped(store, module + ".scales", {rows, groups}));
  ASSIGN_OR_RETURN(const TensorView* biases, GetShaped(store, module + ".biases", {rows, groups}));
  ASSIGN_OR_RETURN(w.scale_type, FloatTypeOf(*scales));
  if (biases->info->dtype != scales->info->dtype) {
    return InvalidArgument(module + ": scales and biases have different dtypes");
  }
  w.format = spec.bits == 8 ? WeightFormat::kQ8 : WeightFormat::kQ4;
  w.group_size = spec.group_size;
  w.data = q->data;
  w.scales = scales->data;
  w.biases = biases->data;
  return w;
}

Result<Linear> LoadLinear(const ModelConfig& config, const TensorStore& store,
                          const std::string& module, int64_t rows, int64_t cols, bool has_bias) {
  Linear l;
  ASSIGN_OR_RETURN(l.weight, LoadMatrix(config, store, module, rows, cols));
  if (has_bias) {
    ASSIGN_OR_RETURN(l.bias, LoadVector(store, module + ".bias", rows));
  }
  return l;
}

}  // namespace

Result<ModelWeights> BindWeights(const ModelConfig& c, const TensorStore& store) {
  ModelWeights w;
  const int64_t hidden = c.hidden_size, inter = c.intermediate_size;
  const int64_t q_out = static_cast<int64_t>(c.num_heads) * c.head_dim;
  const int64_t kv_out = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
  ASSIGN_OR_RETURN(w.embed, LoadMatrix(c, store, "model.embed_tokens", c.vocab_size, hidden));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;
  } else {
    ASSIGN_OR_RETURN(w.lm_head, LoadMatrix(c, store, "lm_head", c.vocab_size, hidden));
  }
  ASSIGN_OR_RETURN(w.final_norm, LoadVector(store, "model.norm.weight", hidden));
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int32_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    ASSIGN_OR_RETURN(l.input_norm, LoadVector(store, p + "input_layernorm.weight", hidden));
    ASSIGN_OR_RETURN(l.post_attn_norm,
                     LoadVector(store, p + "post_attention_layernorm.weight", hidden));
    const bool bias = c.attention_bias;
    ASSIGN_OR_RETURN(l.q, LoadLinear(c, store, p + "self_attn.q_proj", q_out, hidden, bias));
    ASSIGN_OR_RETURN(l.k, LoadLinear(c, store, p + "self_attn.k_proj", kv_out, hidden, bias));
    ASSIGN_OR_RETURN(l.v, LoadLinear(c, store, p + "self_attn.v_proj", kv_out, hidden, bias));
    ASSIGN_OR_RETURN(l.o, LoadLinear(c, store, p + "self_attn.o_proj", hidden, q_out,
                                     c.arch != Arch::kQwen2 && bias));
    if (c.qk_norm) {
      ASSIGN_OR_RETURN(l.q_norm, LoadVector(store, p + "self_attn.q_norm.weight", c.head_dim));
      ASSIGN_OR_RETURN(l.k_norm, LoadVector(store, p + "self_attn.k_norm.weight", c.head_dim));
    }
    ASSIGN_OR_RETURN(l.gate, LoadLinear(c, store, p + "mlp.gate_proj", inter, hidden, false));
    ASSIGN_OR_RETURN(l.up, LoadLinear(c, store, p + "mlp.up_proj", inter, hidden, false));
    ASSIGN_OR_RETURN(l.down, LoadLinear(c, store, p + "mlp.down_proj", hidden, inter, false));
  }
  return w;
}

size_t WeightBytesPerToken(const ModelWeights& weights) {
  size_t bytes = weights.lm_head.total_bytes();
  for (const LayerWeights& l : weights.layers) {
    for (const Linear* lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      bytes += lin->weight.total_bytes();
    }
  }
  return bytes;
}

}  // namespace ts
