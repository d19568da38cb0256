// PreTokenizer: the "pre_tokenizer" stage of tokenizer.json. It cuts a normalized section of
// text into pieces ("words") that the BPE model encodes independently. Supported: Split (regex
// or string pattern, every delimiter behavior, invert), ByteLevel (optionally with the GPT-2
// regex and a prefix space), Metaspace (prepend schemes, optional split) and Sequence.
//
// Pieces are byte ranges into a caller-owned storage string, so the common path (a regex split)
// copies no text. ByteLevel must be the last step: it only marks the pieces as bytes for a
// byte-level model (is_byte_level()), since the BPE model works on raw bytes.
//
// Immutable after Create(); Split may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/regex.h"

namespace ts::text {

class PreTokenizer {
 public:
  // config is the value of "pre_tokenizer" (null: the whole section is one piece).
  static Result<PreTokenizer> Create(const nlohmann::json& config);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // True when the config ends with a ByteLevel step: the model vocabulary is byte-level.
  bool is_byte_level() const { return byte_level_; }

  // Replaces *storage with text (plus any rewritten pieces) and *pieces with the pieces, in
  // order; empty pieces are dropped. is_first_section: text starts at the beginning of the
  // input (Metaspace's "first" prepend scheme). REQUIRES: text is valid UTF-8.
  Status Split(std::string_view text, bool is_first_section, std::string* storage,
               std::vector<MatchSpan>* pieces) const;

  struct Step;

 private:
  PreTokenizer();
  std::vector<std::unique_ptr<Step>> steps_;
  bool byte_level_ = false;
};

}  // namespace ts::text
