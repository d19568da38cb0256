// Decoder: turns token ids back into text, the "decoder" stage of tokenizer.json.
//
// Every supported decoder chain reduces to the same shape, which is what makes streaming
// exact: each id contributes a fixed byte string (TokenBytes), the bytes are concatenated, up to
// leading_spaces_to_strip() spaces are removed from the start of the whole output, and the result
// is read as UTF-8 with each maximal invalid subsequence replaced by U+FFFD. Supported chains:
//   ByteLevel                                 GPT-2, Llama 3, Qwen, DeepSeek: GPT-2 characters
//                                             back to bytes; added tokens as written
//   [Replace...] [ByteFallback] [Fuse] [Strip] Llama 2, Gemma: string replacements per token
//                                             (U+2581 -> space), <0xNN> tokens to byte NN, Strip
//                                             of leading spaces of the whole output
//   Metaspace                                 replacement -> space, first leading space dropped
// Other chains (regex replacements, Strip before Fuse, trailing Strip, WordPiece, CTC) fail to
// load with kUnimplemented.
//
// Immutable after Create(); thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/status.h"

namespace ts::text {

class AddedVocabulary;

class Decoder {
 public:
  // config is the value of "decoder" (null: tokens are joined with spaces, as Hugging Face
  // does). id_to_token holds the model vocabulary ("" for ids without a token);
  // special_ids are skipped when skip_special is requested.
  static Result<Decoder> Create(const nlohmann::json& config,
                                const std::vector<std::string>& id_to_token,
                                const AddedVocabulary& added,
                                std::unordered_set<int32_t> special_ids);

  // The bytes id contributes; empty for ids without a token. May be invalid UTF-8 on its own.
  std::string_view TokenBytes(int32_t id) const {
    return HasToken(id) ? std::string_view(token_bytes_[id]) : std::string_view();
  }
  // False for ids past the vocabulary, which decode to nothing.
  bool HasToken(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < token_bytes_.size();
  }
  bool IsSpecial(int32_t id) const { return special_ids_.contains(id); }
  // Leading spaces dropped from the start of the output.
  size_t leading_spaces_to_strip() const { return strip_leading_; }
  // Joins tokens with a space (no decoder in tokenizer.json).
  bool joins_with_space() const { return join_with_space_; }

  // Full decode: concatenation, strip, UTF-8 repair; ids without a token are skipped.
  std::string Decode(std::span<const int32_t> ids, bool skip_special) const;

 private:
  std::vector<std::string> token_bytes_;
  std::unordered_set<int32_t> special_ids_;
  size_t strip_leading_ = 0;
  bool join_with_space_ = false;
};

// Hugging Face's clean_up_tokenization: removes the space before . ? ! , and English
// contractions (" n't", " 's", ...). Applied by Tokenizer::Decode when the tokenizer config
// asks for it (clean_up_tokenization_spaces).
std::string CleanUpTokenizationSpaces(std::string text);

}  // namespace ts::text
