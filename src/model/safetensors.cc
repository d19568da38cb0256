#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"
#include "base/log.h"

namespace ts {
namespace {

using json = nlohmann::json;

// Safetensors headers nest at most three levels ({name: {shape: [..]}}); refusing anything
// deeper before parsing keeps hostile headers from exercising deep recursion anywhere.
constexpr int kMaxHeaderDepth = 8;

Status TensorError(const std::string& file, const std::string& tensor, const std::string& what) {
  return InvalidArgument(file + ": tensor '" + tensor + "': " + what);
}

Result<TensorInfo> ParseTensorEntry(const std::string& file, const std::string& name,
                                    const json& entry, uint64_t data_bytes) {
  if (!entry.is_object()) return TensorError(file, name, "entry is not an object");
  auto dtype_it = entry.find("dtype");
  auto shape_it = entry.find("shape");
  auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return TensorError(file, name, "missing or non-string dtype");
  }
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return TensorError(file, name, "missing or non-array shape");
  }
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return TensorError(file, name, "data_offsets must be [begin, end]");
  }
  TensorInfo info;
  info.name = name;
  auto dtype = ParseSafetensorsDtype(dtype_it->get<std::string>());
  if (!dtype) return TensorError(file, name, "unknown dtype " + dtype_it->get<std::string>());
  info.dtype = *dtype;
  if (shape_it->size() > 8) return TensorError(file, name, "more than 8 dimensions");
  uint64_t elements = 1;
  for (const auto& d : *shape_it) {
    if (!d.is_number_unsigned()) return TensorError(file, name, "shape entries must be >= 0");
    uint64_t dim = d.get<uint64_t>();
    if (dim > (1ull << 40)) return TensorError(file, name, "dimension too large");
    if (dim != 0 && elements > (1ull << 62) / dim) {
      return TensorError(file, name, "element count overflows");
    }
    elements *= dim;
    info.shape.push_back(static_cast<int64_t>(dim));
  }
  for (const auto& o : *offsets_it) {
    if (!o.is_number_unsigned()) return TensorError(file, name, "data_offsets must be >= 0");
  }
  info.begin = (*offsets_it)[0].get<uint64_t>();
  info.end = (*offsets_it)[1].get<uint64_t>();
  if (info.begin > info.end) return TensorError(file, name, "data_offsets begin > end");
  if (info.end > data_bytes) {
    return TensorError(file, name,
                       "data ends at " + std::to_string(info.end) + " beyond the data region of " +
                           std::to_string(data_bytes) + " bytes (truncated file?)");
  }
  uint64_t bytes = elements * DTypeBytes(info.dtype);
  if (bytes != info.end - info.begin) {
    return TensorError(file, name,
                       "shape x dtype is " + std::to_string(bytes) + " bytes but data_offsets span " +
                           std::to_string(info.end - info.begin));
  }
  return info;
}

}  // namespace

int64_t TensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const uint8_t> file_bytes,
                                                 const std::string& file_name) {
  if (file_bytes.size() < 8) {
    return InvalidArgument(file_name + ": too short for a safetensors header (" +
                           std::to_string(file_bytes.size()) + " bytes)");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file_bytes[i];
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return InvalidArgument(file_name + ": header length " + std::to_string(header_len) +
                           " exceeds the limit");
  }
  if (header_len > file_bytes.size() - 8) {
    return InvalidArgument(file_name + ": header length " + std::to_string(header_len) +
                           " runs past the end of the file (truncated?)");
  }
  std::string_view text(reinterpret_cast<const char*>(file_bytes.data() + 8), header_len);
  if (JsonDepth(text, kMaxHeaderDepth) > kMaxHeaderDepth) {
    return InvalidArgument(file_name + ": header JSON nests too deeply");
  }
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgument(file_name + ": header is not valid JSON");
  if (!root.is_object()) return InvalidArgument(file_name + ": header is not a JSON object");

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  const uint64_t data_bytes = file_bytes.size() - header.data_offset;
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") continue;
    ASSIGN_OR_RETURN(TensorInfo info, ParseTensorEntry(file_name, name, entry, data_bytes));
    header.tensors.emplace(name, std::move(info));
  }
  // No two non-empty tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& [name, info] : header.tensors) {
    if (info.end > info.begin) by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return TensorError(file_name, by_offset[i]->name,
                         "overlaps tensor '" + by_offset[i - 1]->name + "'");
    }
  }
  return header;
}

Result<TensorStore> TensorStore::Open(const std::string& model_dir) {
  std::vector<std::string> files;
  const std::string index_path = model_dir + "/model.safetensors.index.json";
  auto index_text = ReadFileToString(index_path);
  if (index_text.ok()) {
    json index = json::parse(*index_text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
        !index["weight_map"].is_object()) {
      return InvalidArgument(index_path + ": expected an object with a weight_map");
    }
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string()) return InvalidArgument(index_path + ": bad entry for " + tensor);
      std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f.empty() || f[0] == '.') {
        return InvalidArgument(index_path + ": shard name '" + f + "' must be a plain file name");
      }
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    }
  } else if (index_text.status().code() == StatusCode::kNotFound) {
    files.push_back("model.safetensors");
  } else {
    return index_text.status();
  }

  TensorStore store;
  for (const auto& f : files) {
    auto shard = std::make_unique<Shard>();
    const std::string path = model_dir + "/" + f;
    ASSIGN_OR_RETURN(shard->file, MappedFile::Open(path));
    ASSIGN_OR_RETURN(shard->header, ParseSafetensorsHeader(shard->file.bytes(), path));
    for (const auto& [name, info] : shard->header.tensors) {
      TensorView view{&info, shard->file.data() + shard->header.data_offset + info.begin, path};
      if (!store.tensors_.emplace(name, view).second) {
        return InvalidArgument(path + ": tensor '" + name + "' appears in more than one shard");
      }
    }
    store.shards_.push_back(std::move(shard));
  }
  return store;
}

const TensorView* TensorStore::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Result<const TensorView*> TensorStore::Get(const std::string& name) const {
  const TensorView* v = Find(name);
  if (v == nullptr) return NotFound("missing tensor '" + name + "' in the model's safetensors");
  return v;
}

std::vector<std::string> TensorStore::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, view] : tensors_) names.push_back(name);
  return names;
}

std::string TensorStore::IdentityString() const {
  std::string id;
  for (const auto& [name, view] : tensors_) {
    id += name;
    id += ':';
    id += DTypeName(view.info->dtype);
    for (int64_t d : view.info->shape) {
      id += ',';
      id += std::to_string(d);
    }
    id += ';';
  }
  for (const auto& shard : shards_) {
    id += std::to_string(shard->file.size());
    id += ';';
  }
  return id;
}

}  // namespace ts
