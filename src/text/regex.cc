#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "text/utf8.h"

namespace ts::text {
namespace {

// JavaScript's \s: WhiteSpace and LineTerminator. PCRE2's \s with UCP adds U+0085 and drops
// U+FEFF, so the class is spelled out.
constexpr std::string_view kJsSpaceItems =
    "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
// In "u" mode without the i flag, \d and \w are ASCII-only in JavaScript.
constexpr std::string_view kJsDigitItems = "0-9";
constexpr std::string_view kJsWordItems = "A-Za-z0-9_";
// '.' excludes the four JavaScript line terminators.
constexpr std::string_view kJsDot = "[^\\n\\r\\u2028\\u2029]";

// The reference tokenizers replace this group, which older JavaScript cannot parse, with an
// explicit-case version; PCRE2's caseless mode would also match U+017F for 's', so we do the
// same replacement.
constexpr std::string_view kContractionsCaseless = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
constexpr std::string_view kContractionsExplicit =
    "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))";

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Result<std::string> TranslateJsPattern(std::string_view js_pattern) {
  const std::string pattern = ReplaceAll(js_pattern, kContractionsCaseless, kContractionsExplicit);
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return InvalidArgument("regex ends with a backslash");
      const char e = pattern[++i];
      std::string_view items;
      bool negated = false;
      switch (e) {
        case 's':
          items = kJsSpaceItems;
          break;
        case 'S':
          items = kJsSpaceItems;
          negated = true;
          break;
        case 'd':
          items = kJsDigitItems;
          break;
        case 'D':
          items = kJsDigitItems;
          negated = true;
          break;
        case 'w':
          items = kJsWordItems;
          break;
        case 'W':
          items = kJsWordItems;
          negated = true;
          break;
        case 'b':
        case 'B':
          if (!in_class) return Unimplemented("regex word boundaries (\\b, \\B) are not supported");
          break;
        default:
          break;
      }
      if (items.empty()) {
        out.push_back('\\');
        out.push_back(e);
      } else if (!in_class) {
        out.append(negated ? "[^" : "[").append(items).push_back(']');
      } else if (negated) {
        return Unimplemented("a negated class escape inside a character class");
      } else {
        out.append(items);
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal in PCRE2 but closes an empty class in
      // JavaScript; no tokenizer uses either form, so reject rather than guess.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') {
        return Unimplemented("an empty character class in a regex");
      }
      continue;
    }
    if (c == '.') {
      out.append(kJsDot);
      continue;
    }
    out.push_back(c);
  }
  return out;
}

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }
};

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

namespace {

Result<std::unique_ptr<pcre2_code, void (*)(pcre2_code*)>> CompilePcre2(std::string_view pattern,
                                                                        uint32_t options,
                                                                        uint32_t extra_options) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  if (context == nullptr) return ResourceExhausted("pcre2_compile_context_create failed");
  pcre2_set_compile_extra_options(context, extra_options);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (code == nullptr) {
    return InvalidArgument("regex does not compile at offset " + std::to_string(offset) + ": " +
                           Pcre2Error(error));
  }
  return std::unique_ptr<pcre2_code, void (*)(pcre2_code*)>(code, pcre2_code_free);
}

constexpr uint32_t kBaseOptions = PCRE2_UTF | PCRE2_NO_UTF_CHECK;

}  // namespace

Result<Regex> Regex::FromPcre2(std::string_view pattern, uint32_t options, uint32_t extra_options) {
  ASSIGN_OR_RETURN(auto code, CompilePcre2(pattern, options, extra_options));
  auto impl = std::make_unique<Impl>();
  impl->code = code.release();
  // JIT is an optimisation: interpretation gives the same matches when it is unavailable.
  impl->jit = pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE) == 0;
  return Regex(std::move(impl));
}

Result<Regex> Regex::Compile(std::string_view js_pattern) {
  ASSIGN_OR_RETURN(std::string pattern, TranslateJsPattern(js_pattern));
  // \uhhhh and \u{h..} escapes as in JavaScript.
  return FromPcre2(pattern, kBaseOptions | PCRE2_UCP | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY,
                   PCRE2_EXTRA_ALT_BSUX);
}

Result<Regex> Regex::Literal(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty literal pattern");
  return FromPcre2(text, kBaseOptions | PCRE2_LITERAL, 0);
}

Status Regex::FindAll(std::string_view text, std::vector<MatchSpan>* matches) const {
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> data(
      pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
  if (data == nullptr) return ResourceExhausted("pcre2_match_data_create failed");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = PCRE2_ERROR_JIT_STACKLIMIT;
    if (impl_->jit) {
      rc = pcre2_jit_match(impl_->code, subject, text.size(), pos, 0, data.get(), nullptr);
    }
    // Without JIT, or when a pathological match outgrows the JIT's machine stack, the
    // interpreter (heap-allocated backtracking frames) gives the same answer.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       data.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return ResourceExhausted("regex match failed: " + Pcre2Error(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const auto begin = static_cast<uint32_t>(ovector[0]);
    const auto end = static_cast<uint32_t>(ovector[1]);
    matches->push_back({begin, end});
    if (end > begin) {
      pos = end;
    } else if (end < text.size()) {
      const size_t len = ValidSequenceLength(text, end);
      pos = end + (len == 0 ? 1 : len);
    } else {
      break;
    }
  }
  return Status::Ok();
}

}  // namespace ts::text
