// AddedVocabulary: the "added_tokens" of tokenizer.json (special tokens such as <|im_start|>
// and extra tokens such as <think>). They are found in the text before normalization and
// pre-tokenization, so a chat-template string like "<|im_end|>" becomes one id instead of being
// cut into pieces.
//
// Matching follows Hugging Face tokenizers: leftmost-longest over a byte trie; tokens marked
// normalized=false are matched in the raw text and tokens marked normalized=true in the text
// after the normalizer (the tokenizer runs two passes); lstrip/rstrip make a match swallow the
// whitespace on that side; single_word rejects matches inside a word. Special tokens are only
// matched when parse_special is set (transformers' split_special_tokens=False); non-special
// added tokens are always matched.
//
// Immutable after Create(); Split may be called from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace ts::text {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// A stretch of the input: an added token (token_id >= 0) or plain text (token_id == -1).
struct TextSection {
  uint32_t begin = 0;
  uint32_t end = 0;
  int32_t token_id = -1;
};

class AddedVocabulary {
 public:
  // added_tokens is the "added_tokens" array (may be null or absent: no added tokens).
  static Result<AddedVocabulary> Create(const nlohmann::json& added_tokens);

  // Appends the sections of text, in order, matching the tokens whose `normalized` flag equals
  // normalized_tokens. Plain sections may be empty only when text is. REQUIRES: text is valid
  // UTF-8 and shorter than 4 GiB.
  void Split(std::string_view text, bool normalized_tokens, bool parse_special,
             std::vector<TextSection>* sections) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* FindById(int32_t id) const;
  std::optional<int32_t> FindByContent(std::string_view content) const;

 private:
  struct Node {
    int32_t token = -1;  // index into tokens_ of the token ending here
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
  };
  struct Trie {
    std::vector<Node> nodes{Node{}};
    std::array<bool, 256> first_byte{};
    void Insert(std::string_view key, int32_t token);
    int32_t Child(int32_t node, uint8_t byte) const;
  };

  // Longest allowed token starting at pos; returns its end or 0.
  size_t LongestMatch(const Trie& trie, std::string_view text, size_t pos, bool parse_special,
                      int32_t* token) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> index_by_id_;
  std::unordered_map<std::string, size_t> index_by_content_;
  Trie raw_trie_;         // normalized == false
  Trie normalized_trie_;  // normalized == true
};

}  // namespace ts::text
