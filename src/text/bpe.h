// BpeModel: the "model" stage of tokenizer.json for type BPE. Encodes one pre-tokenized word
// into token ids by applying merges in rank order.
//
// Merge order (what must hold for parity): a word starts as one symbol per byte (byte-level
// vocabularies) or per character (SentencePiece-style). Repeatedly, among all adjacent symbol
// pairs that have a merge, the one with the lowest rank is merged, ties going to the leftmost
// pair. This runs in O(n log n) with a doubly linked list of symbols and a min-heap of candidate
// merges keyed by (rank, position of the left symbol); a popped candidate whose pair no longer
// exists is skipped. Characters missing from a SentencePiece vocabulary become <0xNN> byte
// tokens (byte_fallback) or the unknown token (consecutive ones fused when fuse_unk).
//
// Byte-level vocabularies are translated to raw bytes at load time, so words are encoded from
// the input bytes directly without the GPT-2 character mapping.
//
// SentencePiece-style tokenizers hand whole sections (often the whole prompt) to the model as
// one word. Encode cuts such a word before each U+2581 that follows a character c, unless some
// merge joins a left side ending in c with a right side starting with U+2581 (checked at load
// time; Gemma 3 has one, after '>'). No merge can then cross the cut, so encoding the segments
// separately gives the same ids, in O(segment) time and with the word cache.
//
// Immutable after Create() except for the internal word cache, which is thread-safe; Encode
// may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "text/word_cache.h"

namespace ts::text {

class BpeModel {
 public:
  // config is the value of "model"; byte_level says whether its vocabulary is GPT-2 byte-level.
  static Result<BpeModel> Create(const nlohmann::json& config, bool byte_level);

  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;
  ~BpeModel();

  // Appends the ids of word. REQUIRES: word is non-empty; valid UTF-8 unless byte-level.
  Status Encode(std::string_view word, std::vector<int32_t>* ids) const;

  // The vocabulary as tokenizer.json spells it (byte-level entries in GPT-2 characters).
  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 private:
  BpeModel();
  struct Symbol;
  struct Candidate;
  class PairTable;

  // Runs the merge loop over symbols and appends the resulting ids.
  Status MergeAndEmit(std::string_view word, std::vector<Symbol>* symbols,
                      std::vector<int32_t>* ids) const;
  Status EmitUnknown(std::string_view text, std::vector<int32_t>* ids) const;
  // Encodes one word or segment (no cutting).
  Status EncodeSegment(std::string_view word, std::vector<int32_t>* ids) const;
  std::optional<int32_t> Find(std::string_view model_token) const;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::unordered_map<std::string, int32_t> vocab_;
  // Keys in the model's working alphabet: raw bytes for byte-level vocabularies.
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  std::unique_ptr<PairTable> merges_;
  int32_t byte_to_id_[256];        // byte-level: id of each single-byte token
  int32_t byte_fallback_id_[256];  // SentencePiece: id of <0xNN>, -1 when absent
  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  std::optional<int32_t> unk_id_;
  bool cut_at_metaspace_ = false;
  std::unordered_set<char32_t> no_cut_after_;  // see the comment at the top
  std::unique_ptr<WordCache> cache_;
};

}  // namespace ts::text
