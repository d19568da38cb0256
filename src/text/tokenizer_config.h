// TokenizerConfig: the parts of tokenizer_config.json and special_tokens_map.json the tokenizer
// needs: special token strings, add_bos_token/add_eos_token, the tokenizer class (which decides
// whether those flags rebuild the post-processor, as in transformers), the decode clean-up flag,
// additional special tokens and the chat template. Values in tokenizer_config.json win over
// special_tokens_map.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ts::text {

struct TokenizerConfig {
  std::string bos_token;  // "" when unset
  std::string eos_token;
  std::string pad_token;
  std::string unk_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  std::string tokenizer_class;  // without a "Fast" suffix
  bool clean_up_tokenization_spaces = false;
  std::vector<std::string> additional_special_tokens;
  std::string chat_template;  // "" when none

  // True when transformers rebuilds this class's post-processor from add_bos_token and
  // add_eos_token (LlamaTokenizerFast, CodeLlamaTokenizerFast, GemmaTokenizerFast).
  bool OverridesPostProcessor() const;
};

// Either text may be empty (file absent).
Result<TokenizerConfig> ParseTokenizerConfig(std::string_view tokenizer_config_json,
                                             std::string_view special_tokens_map_json);

}  // namespace ts::text
