// Writing Hugging Face / MLX model folders: config.json, generation_config.json, safetensors
// weights (float or MLX-quantized, as mlx_lm.convert lays them out) and the tokenizer files.
// Used by `tierserve gen-model` (random weights) and `tierserve quantize` (a float folder in,
// an MLX-quantized folder out).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/dtype.h"
#include "model/model_config.h"
#include "model/safetensors_writer.h"

namespace ts {

// Adds one weight matrix [rows][cols] to the writer under `module`: module.weight in
// float_dtype, or — when quant.bits != 0 and cols % group_size == 0 — module.weight (U32
// packed), module.scales and module.biases. `values` produces the float32 matrix (called once
// when it is written). Returns whether the module was quantized.
bool AddMatrix(SafetensorsWriter& writer, const std::string& module, int64_t rows, int64_t cols,
               DType float_dtype, QuantSpec quant, std::function<std::vector<float>()> values);

// A float32 vector stored in float_dtype.
void AddVector(SafetensorsWriter& writer, const std::string& name, DType float_dtype,
               std::function<std::vector<float>()> values);

// Copies tokenizer.json, tokenizer_config.json, special_tokens_map.json, chat_template.jinja
// (those that exist) from src_dir to dst_dir.
Status CopyTokenizerFiles(const std::string& src_dir, const std::string& dst_dir);

Result<DType> FloatDTypeFromName(const std::string& name);  // "bfloat16", "float16", "float32"
std::string TorchDTypeName(DType d);

// `tierserve quantize`: reads a float folder, writes it MLX-quantized to out_dir (every linear
// and embedding whose input size is a multiple of group_size), config.json gains
// "quantization" and "quantization_config".
Status QuantizeModelFolder(const std::string& in_dir, const std::string& out_dir, int bits,
                           int group_size, uint64_t max_shard_bytes);

}  // namespace ts
