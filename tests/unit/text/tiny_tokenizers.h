// Small tokenizer.json documents for unit tests: each exercises one stage without the 10+ MB
// files of real models.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/byte_level.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace ts::text::testing {

// GPT-2 characters for raw bytes (how byte-level vocabularies spell tokens).
inline std::string ByteLevel(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) AppendUtf8(ByteToCodePoint(static_cast<uint8_t>(c)), &out);
  return out;
}

// A byte-level BPE with all 256 bytes plus the given merges (pairs of raw-byte strings), a
// Qwen-style Split regex and the given added tokens. Lists are std::vectors because a braced
// list of one json value is an array for g++ but the value itself for clang.
inline nlohmann::json ByteLevelTokenizer(
    const std::vector<std::pair<std::string, std::string>>& merges,
    const std::vector<nlohmann::json>& added_tokens = {}) {
  nlohmann::json vocab = nlohmann::json::object();
  int next_id = 0;
  for (int b = 0; b < 256; ++b) vocab[ByteLevel(std::string(1, static_cast<char>(b)))] = next_id++;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    merge_list.push_back({ByteLevel(a), ByteLevel(b)});
    if (!vocab.contains(ByteLevel(a + b))) vocab[ByteLevel(a + b)] = next_id++;
  }
  return {
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex",
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
              "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens", nlohmann::json(added_tokens)},
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"byte_fallback", false}}},
  };
}

inline nlohmann::json AddedToken(int id, const std::string& content, bool special,
                                 bool lstrip = false, bool rstrip = false, bool single_word = false,
                                 bool normalized = false) {
  return {{"id", id},
          {"content", content},
          {"special", special},
          {"lstrip", lstrip},
          {"rstrip", rstrip},
          {"single_word", single_word},
          {"normalized", normalized}};
}

inline Tokenizer MustBuild(const nlohmann::json& tokenizer_json,
                           const std::string& config_json = "") {
  Result<Tokenizer> t = Tokenizer::FromFiles({.tokenizer_json = tokenizer_json.dump(),
                                              .tokenizer_config_json = config_json,
                                              .special_tokens_map_json = "",
                                              .chat_template = ""});
  CHECK(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

}  // namespace ts::text::testing
