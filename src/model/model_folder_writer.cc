#include "model/model_folder_writer.h"

#include <sys/stat.h>

#include <cstring>
#include <memory>

#include "base/check.h"
#include "base/half.h"
#include "base/mapped_file.h"
#include "kernels/reference/reference_kernels.h"
#include "model/mlx_quantize.h"
#include "model/model_weights.h"
#include "model/safetensors.h"

namespace ts {
namespace {

std::vector<uint8_t> EncodeFloats(const std::vector<float>& v, DType dtype) {
  std::vector<uint8_t> out(v.size() * DTypeBytes(dtype));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(out.data() + 4 * i, &v[i], 4);
    } else {
      uint16_t h = dtype == DType::kF16 ? F32ToF16(v[i]) : F32ToBf16(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  }
  return out;
}

}  // namespace

Result<DType> FloatDTypeFromName(const std::string& name) {
  if (name == "bfloat16" || name == "bf16") return DType::kBf16;
  if (name == "float16" || name == "f16") return DType::kF16;
  if (name == "float32" || name == "f32") return DType::kF32;
  return InvalidArgument("unknown dtype '" + name + "' (bf16, f16, f32)");
}

std::string TorchDTypeName(DType d) {
  return d == DType::kF32 ? "float32" : d == DType::kF16 ? "float16" : "bfloat16";
}

bool AddMatrix(SafetensorsWriter& writer, const std::string& module, int64_t rows, int64_t cols,
               DType float_dtype, QuantSpec quant, std::function<std::vector<float>()> values) {
  if (quant.bits == 0 || cols % quant.group_size != 0) {
    writer.Add(module + ".weight", float_dtype, {rows, cols},
               [values, float_dtype] { return EncodeFloats(values(), float_dtype); });
    return false;
  }
  // The three tensors are written one after the other: quantize once, hand out each part.
  auto shared = std::make_shared<QuantizedMatrix>();
  auto quantize = [shared, values, rows, cols, quant, float_dtype] {
    std::vector<float> w = values();
    *shared = MlxQuantize(w.data(), rows, cols, quant.bits, quant.group_size, float_dtype);
  };
  const int64_t groups = cols / quant.group_size;
  writer.Add(module + ".weight", DType::kU32, {rows, cols * quant.bits / 32}, [shared, quantize] {
    quantize();
    return std::move(shared->packed);
  });
  writer.Add(module + ".scales", float_dtype, {rows, groups},
             [shared] { return std::move(shared->scales); });
  writer.Add(module + ".biases", float_dtype, {rows, groups},
             [shared] { return std::move(shared->biases); });
  return true;
}

void AddVector(SafetensorsWriter& writer, const std::string& name, DType float_dtype,
               std::function<std::vector<float>()> values) {
  const int64_t n = static_cast<int64_t>(values().size());
  writer.Add(name, float_dtype, {n}, [values, float_dtype] { return EncodeFloats(values(), float_dtype); });
}

Status CopyTokenizerFiles(const std::string& src_dir, const std::string& dst_dir) {
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "chat_template.jinja"}) {
    auto text = ReadFileToString(src_dir + "/" + name, 256u << 20);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) continue;
      return text.status();
    }
    RETURN_IF_ERROR(WriteFileAtomically(dst_dir + "/" + name, *text));
  }
  return Status::Ok();
}

Status QuantizeModelFolder(const std::string& in_dir, const std::string& out_dir, int bits,
                           int group_size, uint64_t max_shard_bytes) {
  if ((bits != 4 && bits != 8) || (group_size != 32 && group_size != 64 && group_size != 128)) {
    return InvalidArgument("quantize supports --bits 4|8 and --group-size 32|64|128");
  }
  ASSIGN_OR_RETURN(std::string config_text, ReadFileToString(in_dir + "/config.json", 16u << 20));
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(in_dir));
  if (config.quant.bits != 0) return InvalidArgument(in_dir + " is already quantized");
  ASSIGN_OR_RETURN(TensorStore store, TensorStore::Open(in_dir));
  ::mkdir(out_dir.c_str(), 0755);
  QuantSpec quant{bits, group_size};
  SafetensorsWriter writer;
  for (const std::string& name : store.Names()) {
    const TensorView* t = store.Find(name);
    const DType dtype = t->info->dtype;
    const bool is_float = dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBf16;
    const std::string suffix = ".weight";
    const bool is_matrix = is_float && t->info->shape.size() == 2 && name.size() > suffix.size() &&
                           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (!is_matrix) {
      const TensorInfo* info = t->info;
      const uint8_t* data = t->data;
      writer.Add(name, info->dtype, info->shape, [info, data] {
        return std::vector<uint8_t>(data, data + (info->end - info->begin));
      });
      continue;
    }
    WeightMatrix view;
    view.format = dtype == DType::kF32   ? WeightFormat::kF32
                  : dtype == DType::kF16 ? WeightFormat::kF16
                                         : WeightFormat::kBf16;
    view.rows = t->info->shape[0];
    view.cols = t->info->shape[1];
    view.data = t->data;
    const std::string module = name.substr(0, name.size() - suffix.size());
    AddMatrix(writer, module, view.rows, view.cols, dtype, quant, [view] {
      std::vector<float> w(static_cast<size_t>(view.rows * view.cols));
      for (int64_t r = 0; r < view.rows; ++r) {
        for (int64_t c = 0; c < view.cols; ++c) w[r * view.cols + c] = reference::WeightAt(view, r, c);
      }
      return w;
    });
  }
  RETURN_IF_ERROR(writer.WriteFolder(out_dir, max_shard_bytes));
  nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(config_text);
  cfg["quantization"] = {{"group_size", group_size}, {"bits", bits}};
  cfg["quantization_config"] = cfg["quantization"];
  RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/config.json", cfg.dump(2)));
  for (const char* name : {"generation_config.json"}) {
    auto text = ReadFileToString(in_dir + "/" + name);
    if (text.ok()) RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/" + name, *text));
  }
  return CopyTokenizerFiles(in_dir, out_dir);
}

}  // namespace ts
