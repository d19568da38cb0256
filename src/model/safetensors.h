// Safetensors files, memory-mapped. A file is: u64 little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data region. Offsets are relative to the data region.
//
// ParseSafetensorsHeader validates everything before any tensor is used: header length within
// bounds and the file, valid JSON object, known dtypes, non-negative shapes whose element count
// times dtype size equals end - begin (checked for overflow), offsets inside the data region,
// no two tensors overlapping. Errors name the file and the tensor. It never allocates more
// than a small multiple of the header length, whatever the header claims.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "model/dtype.h"

namespace ts {

// Header JSON beyond this is refused (real headers are well under 10 MB).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets inside the data region
  uint64_t end = 0;
  int64_t num_elements() const;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;                  // where the data region starts in the file
  std::map<std::string, TensorInfo> tensors;  // by name
};

// `file_bytes` is the whole file; `file_name` is used in error messages only.
Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const uint8_t> file_bytes,
                                                 const std::string& file_name);

// A tensor's bytes, borrowed from a mapped file that outlives it.
struct TensorView {
  const TensorInfo* info = nullptr;
  const uint8_t* data = nullptr;
  std::string file;  // for error messages
};

// All tensors of a model folder: model.safetensors, or the shards listed in
// model.safetensors.index.json. Owns the mappings.
class TensorStore {
 public:
  static Result<TensorStore> Open(const std::string& model_dir);

  // nullptr when absent.
  const TensorView* Find(const std::string& name) const;
  Result<const TensorView*> Get(const std::string& name) const;
  std::vector<std::string> Names() const;
  // Identity of the weights for the cache fingerprint: names, dtypes, shapes and file sizes.
  std::string IdentityString() const;

 private:
  struct Shard {
    MappedFile file;
    SafetensorsHeader header;
  };
  std::vector<std::unique_ptr<Shard>> shards_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace ts
