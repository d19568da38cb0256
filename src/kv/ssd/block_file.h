// The SSD tier's on-disk record: one self-checking file per KV block.
//
// File name: <dir>/<hh>/<hash>.kvb, where <hash> is the block hash as 32 hex digits (high word
// first) and <hh> its first two digits (256 subdirectories keep directories small). A record
// is written to <name>.tmp, fsynced, then renamed over <name>, so after a crash a record is
// either absent or complete; leftover *.tmp files are removed at start-up.
//
// Format version 1. All integers little-endian; sizes in bytes.
//
//   offset  size   field
//   0       8      magic "TSKVBLK\0"
//   8       4      format version (1)
//   12      4      header size H: offset of the payload, a multiple of 64
//   16      16     cache fingerprint: model fingerprint mixed with KV layout version, KV dtype,
//                  block size, layers, KV heads and head_dim (block_hash.h CacheFingerprint)
//   32      16     block hash   (low word, then high word)
//   48      16     parent hash  (the previous block's hash, or the chain root)
//   64      4      number of token ids n (= block size)
//   68      4      reserved, 0
//   72      8      payload size P (= KvLayout::block_bytes())
//   80      8      payload checksum: XXH3-64 of the P payload bytes
//   88      8      header checksum: XXH3-64 of bytes [0, 88) followed by the n token ids
//   96      4n     token ids (int32)
//   96+4n   ...    zero padding up to H
//   H       P      payload: for each layer, its K block then its V block (KvStorage order)
//
// A record is accepted only if its size is exactly H + P and every field matches what the reader
// expects (version, fingerprint, hash, token ids, sizes, both checksums); anything else is a miss.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kv/block_hash.h"

namespace ts {

inline constexpr uint32_t kBlockFileFormatVersion = 1;
inline constexpr char kBlockFileSuffix[] = ".kvb";
inline constexpr char kTempFileSuffix[] = ".tmp";

// H for records of block_size tokens.
uint64_t BlockFileHeaderBytes(int32_t block_size);

// Relative path of a block's record inside the cache directory: "<hh>/<hash>.kvb".
std::string BlockFileName(const BlockHash& hash);

// Parses "<hash>.kvb" (a name inside a <hh> directory); false for any other name.
bool ParseBlockFileName(const std::string& name, BlockHash* hash);

// What a record must match to be accepted, besides its own checksums.
struct BlockFileKey {
  BlockHash fingerprint;
  BlockHash hash;
  BlockHash parent;  // written; not checked on read (the hash already covers it)
  std::span<const int32_t> tokens;
  uint64_t payload_bytes = 0;
};

// The H header bytes for a record of key and payload (computes the payload checksum).
std::vector<uint8_t> EncodeBlockFileHeader(const BlockFileKey& key,
                                           std::span<const uint8_t> payload);

// Checks a whole record (H + P bytes) against key. kDataLoss names the first mismatch of a
// damaged, truncated or foreign record; kFailedPrecondition means a sound record whose token ids
// differ from key's (a hash collision): a miss, but no reason to delete the file.
Status VerifyBlockFile(std::span<const uint8_t> record, const BlockFileKey& key);

}  // namespace ts
