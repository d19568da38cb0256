// Regex: a compiled PCRE2 pattern (JIT when available) for the Split pre-tokenizer and the
// Replace normalizer. Patterns in tokenizer.json are written for the reference tokenizers,
// which run them as JavaScript "u"-flag regexes, so Compile() translates the places where
// JavaScript and PCRE2 disagree (\s, \d, \w, '.', the (?i:...) contraction group, '$') before
// compiling; everything else (\p{..} classes, look-ahead, alternation order) means the same.
//
// Immutable after construction; FindAll may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ts::text {

struct MatchSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
};

class Regex {
 public:
  // A pattern from tokenizer.json ({"Regex": ...}).
  static Result<Regex> Compile(std::string_view js_pattern);
  // A literal string ({"String": ...}).
  static Result<Regex> Literal(std::string_view text);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Appends the non-overlapping matches in text, left to right; after an empty match the
  // search resumes one character later (JavaScript matchAll). REQUIRES: text is valid UTF-8
  // and shorter than 4 GiB.
  Status FindAll(std::string_view text, std::vector<MatchSpan>* matches) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  // Compiles a PCRE2 pattern with the given compile and extra compile options.
  static Result<Regex> FromPcre2(std::string_view pattern, uint32_t options,
                                 uint32_t extra_options);
  std::unique_ptr<Impl> impl_;
};

// Rewrites a JavaScript "u"-mode pattern into a PCRE2 pattern with the same meaning.
// Exposed for tests.
Result<std::string> TranslateJsPattern(std::string_view js_pattern);

}  // namespace ts::text
