#include "kv/ssd/block_file.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace ts {
namespace {

constexpr char kMagic[8] = {'T', 'S', 'K', 'V', 'B', 'L', 'K', '\0'};
constexpr size_t kFixedHeaderBytes = 96;
constexpr size_t kHeaderChecksumOffset = 88;

template <typename T>
void Put(std::vector<uint8_t>* out, size_t offset, T value) {
  std::memcpy(out->data() + offset, &value, sizeof value);
}

template <typename T>
T Get(std::span<const uint8_t> in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof value);
  return value;
}

void PutHash(std::vector<uint8_t>* out, size_t offset, const BlockHash& h) {
  Put(out, offset, h.low);
  Put(out, offset + 8, h.high);
}

BlockHash GetHash(std::span<const uint8_t> in, size_t offset) {
  return {.low = Get<uint64_t>(in, offset), .high = Get<uint64_t>(in, offset + 8)};
}

uint64_t HeaderChecksum(std::span<const uint8_t> header, size_t num_tokens) {
  std::vector<uint8_t> input(header.begin(), header.begin() + kHeaderChecksumOffset);
  input.insert(input.end(), header.begin() + kFixedHeaderBytes,
               header.begin() + kFixedHeaderBytes + num_tokens * sizeof(int32_t));
  return XXH3_64bits(input.data(), input.size());
}

}  // namespace

uint64_t BlockFileHeaderBytes(int32_t block_size) {
  const uint64_t bytes = kFixedHeaderBytes + 4 * static_cast<uint64_t>(block_size);
  return (bytes + 63) / 64 * 64;
}

std::string BlockFileName(const BlockHash& hash) {
  std::string hex = hash.ToHex();
  return hex.substr(0, 2) + "/" + hex + kBlockFileSuffix;
}

bool ParseBlockFileName(const std::string& name, BlockHash* hash) {
  const size_t suffix_len = sizeof(kBlockFileSuffix) - 1;
  if (name.size() != 32 + suffix_len || name.compare(32, suffix_len, kBlockFileSuffix) != 0) {
    return false;
  }
  return BlockHash::FromHex(std::string_view(name).substr(0, 32), hash);
}

std::vector<uint8_t> EncodeBlockFileHeader(const BlockFileKey& key,
                                           std::span<const uint8_t> payload) {
  const int32_t num_tokens = static_cast<int32_t>(key.tokens.size());
  std::vector<uint8_t> header(BlockFileHeaderBytes(num_tokens), 0);
  std::memcpy(header.data(), kMagic, sizeof kMagic);
  Put(&header, 8, kBlockFileFormatVersion);
  Put(&header, 12, static_cast<uint32_t>(header.size()));
  PutHash(&header, 16, key.fingerprint);
  PutHash(&header, 32, key.hash);
  PutHash(&header, 48, key.parent);
  Put(&header, 64, static_cast<uint32_t>(num_tokens));
  Put(&header, 72, static_cast<uint64_t>(payload.size()));
  Put(&header, 80, XXH3_64bits(payload.data(), payload.size()));
  std::memcpy(header.data() + kFixedHeaderBytes, key.tokens.data(), key.tokens.size_bytes());
  Put(&header, kHeaderChecksumOffset, HeaderChecksum(header, key.tokens.size()));
  return header;
}

Status VerifyBlockFile(std::span<const uint8_t> record, const BlockFileKey& key) {
  const size_t num_tokens = key.tokens.size();
  const uint64_t header_bytes = BlockFileHeaderBytes(static_cast<int32_t>(num_tokens));
  if (record.size() != header_bytes + key.payload_bytes) {
    return DataLoss("record is " + std::to_string(record.size()) + " bytes, expected " +
                    std::to_string(header_bytes + key.payload_bytes));
  }
  if (std::memcmp(record.data(), kMagic, sizeof kMagic) != 0) return DataLoss("bad magic");
  if (Get<uint32_t>(record, 8) != kBlockFileFormatVersion) return DataLoss("other format version");
  if (Get<uint32_t>(record, 12) != header_bytes) return DataLoss("bad header size");
  if (Get<uint32_t>(record, 64) != num_tokens) return DataLoss("other block size");
  if (Get<uint64_t>(record, 88) != HeaderChecksum(record, num_tokens)) {
    return DataLoss("header checksum mismatch");
  }
  if (GetHash(record, 16) != key.fingerprint) return DataLoss("other model fingerprint");
  if (GetHash(record, 32) != key.hash) return DataLoss("other block hash");
  if (Get<uint64_t>(record, 72) != key.payload_bytes) return DataLoss("other payload size");
  if (std::memcmp(record.data() + kFixedHeaderBytes, key.tokens.data(), key.tokens.size_bytes()) !=
      0) {
    // A sound record of the same hash for other tokens: a hash collision, not corruption.
    return FailedPrecondition("other token ids");
  }
  std::span<const uint8_t> payload = record.subspan(header_bytes);
  if (Get<uint64_t>(record, 80) != XXH3_64bits(payload.data(), payload.size())) {
    return DataLoss("payload checksum mismatch");
  }
  return Status::Ok();
}

}  // namespace ts
