// Normalizer: the "normalizer" stage of tokenizer.json, applied to each stretch of text between
// added tokens before pre-tokenization. Supports the types real LLM tokenizers use: NFC, NFD,
// NFKC, NFKD (libutf8proc), Lowercase, Replace (string or regex pattern), Prepend, Strip and
// Sequence. Unknown types fail to load rather than being skipped.
//
// Immutable after Create(); Normalize may be called from several threads at once.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ts::text {

class Normalizer {
 public:
  // config is the value of "normalizer" (may be null: the identity).
  static Result<Normalizer> Create(const nlohmann::json& config);

  Normalizer(Normalizer&&) noexcept;
  Normalizer& operator=(Normalizer&&) noexcept;
  ~Normalizer();

  // True when Normalize returns its input unchanged for every input.
  bool is_identity() const { return steps_.empty(); }

  // REQUIRES: text is valid UTF-8. The result is valid UTF-8.
  Result<std::string> Normalize(std::string_view text) const;

  struct Step;

 private:
  Normalizer();
  std::vector<std::unique_ptr<Step>> steps_;
};

// Unicode normalization of valid UTF-8 text; form is "NFC", "NFD", "NFKC" or "NFKD". Exposed for
// tests.
Result<std::string> UnicodeNormalize(std::string_view text, std::string_view form);

}  // namespace ts::text
