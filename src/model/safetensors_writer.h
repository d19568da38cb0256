// Writes the weights of a model folder as safetensors: model.safetensors, or shards
// model-0000i-of-0000n.safetensors with model.safetensors.index.json when the total passes
// max_shard_bytes. Tensors are produced one at a time by a callback while writing, so a
// multi-GB model never needs to be in memory whole. Each file is written to a temporary name
// and renamed into place.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/dtype.h"

namespace ts {

class SafetensorsWriter {
 public:
  // Returns the tensor's bytes: product(shape) * DTypeBytes(dtype) of them.
  using Producer = std::function<std::vector<uint8_t>()>;

  void Add(const std::string& name, DType dtype, std::vector<int64_t> shape, Producer produce);
  uint64_t total_bytes() const { return total_bytes_; }
  Status WriteFolder(const std::string& dir, uint64_t max_shard_bytes) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t bytes;
    Producer produce;
  };
  Status WriteFile(const std::string& path, const std::vector<const Entry*>& entries) const;

  std::vector<Entry> entries_;
  uint64_t total_bytes_ = 0;
};

}  // namespace ts
