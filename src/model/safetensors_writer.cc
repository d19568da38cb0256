#include "model/safetensors_writer.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "base/mapped_file.h"

namespace ts {

void SafetensorsWriter::Add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            Producer produce) {
  uint64_t bytes = DTypeBytes(dtype);
  for (int64_t d : shape) bytes *= static_cast<uint64_t>(d);
  total_bytes_ += bytes;
  entries_.push_back({name, dtype, std::move(shape), bytes, std::move(produce)});
}

Status SafetensorsWriter::WriteFile(const std::string& path,
                                    const std::vector<const Entry*>& entries) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const Entry* e : entries) {
    header[e->name] = {{"dtype", std::string(DTypeName(e->dtype))},
                       {"shape", e->shape},
                       {"data_offsets", {offset, offset + e->bytes}}};
    offset += e->bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';  // 8-byte aligned data region, as HF writes
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return IoError("cannot create " + tmp);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(text.size() >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 &&
            std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const Entry* e : entries) {
    if (!ok) break;
    std::vector<uint8_t> bytes = e->produce();
    CHECK_EQ(bytes.size(), e->bytes) << e->name;
    ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return IoError("cannot write " + path);
  }
  return Status::Ok();
}

Status SafetensorsWriter::WriteFolder(const std::string& dir, uint64_t max_shard_bytes) const {
  std::vector<std::vector<const Entry*>> shards(1);
  uint64_t in_shard = 0;
  for (const Entry& e : entries_) {
    if (in_shard > 0 && in_shard + e.bytes > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&e);
    in_shard += e.bytes;
  }
  if (shards.size() == 1) return WriteFile(dir + "/model.safetensors", shards[0]);
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total_bytes_}};
  index["weight_map"] = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    RETURN_IF_ERROR(WriteFile(dir + "/" + name, shards[i]));
    for (const Entry* e : shards[i]) index["weight_map"][e->name] = name;
  }
  return WriteFileAtomically(dir + "/model.safetensors.index.json", index.dump(2));
}

}  // namespace ts
