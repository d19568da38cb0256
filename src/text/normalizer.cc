#include "text/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "text/regex.h"
#include "text/utf8.h"

namespace ts::text {

struct Normalizer::Step {
  virtual ~Step() = default;
  virtual Status Apply(std::string* text) const = 0;
};

namespace {

using json = nlohmann::json;

Result<utf8proc_option_t> FormOptions(std::string_view form) {
  const auto base = static_cast<utf8proc_option_t>(UTF8PROC_STABLE);
  if (form == "NFC") return static_cast<utf8proc_option_t>(base | UTF8PROC_COMPOSE);
  if (form == "NFD") return static_cast<utf8proc_option_t>(base | UTF8PROC_DECOMPOSE);
  if (form == "NFKC") {
    return static_cast<utf8proc_option_t>(base | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  }
  if (form == "NFKD") {
    return static_cast<utf8proc_option_t>(base | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  }
  return InvalidArgument("unknown Unicode normalization form " + std::string(form));
}

Status Utf8procMap(std::string_view text, utf8proc_option_t options, std::string* out) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped, options);
  if (len < 0) return InvalidArgument(std::string("utf8proc: ") + utf8proc_errmsg(len));
  out->append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len));
  std::free(mapped);
  return Status::Ok();
}

class UnicodeStep : public Normalizer::Step {
 public:
  explicit UnicodeStep(std::string form) : form_(std::move(form)) {}
  Status Apply(std::string* text) const override {
    ASSIGN_OR_RETURN(*text, UnicodeNormalize(*text, form_));
    return Status::Ok();
  }

 private:
  std::string form_;
};

class LowercaseStep : public Normalizer::Step {
 public:
  Status Apply(std::string* text) const override {
    std::string out;
    out.reserve(text->size());
    size_t pos = 0;
    while (pos < text->size()) {
      const size_t len = ValidSequenceLength(*text, pos);
      AppendUtf8(static_cast<char32_t>(utf8proc_tolower(
                     static_cast<utf8proc_int32_t>(DecodeSequence(*text, pos, len)))),
                 &out);
      pos += len;
    }
    *text = std::move(out);
    return Status::Ok();
  }
};

class ReplaceStep : public Normalizer::Step {
 public:
  ReplaceStep(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Status Apply(std::string* text) const override {
    std::vector<MatchSpan> matches;
    RETURN_IF_ERROR(pattern_.FindAll(*text, &matches));
    if (matches.empty()) return Status::Ok();
    std::string out;
    out.reserve(text->size());
    uint32_t pos = 0;
    for (const MatchSpan& m : matches) {
      out.append(*text, pos, m.begin - pos);
      out.append(content_);
      pos = m.end;
    }
    out.append(*text, pos);
    *text = std::move(out);
    return Status::Ok();
  }

 private:
  Regex pattern_;
  std::string content_;
};

class PrependStep : public Normalizer::Step {
 public:
  explicit PrependStep(std::string prefix) : prefix_(std::move(prefix)) {}
  Status Apply(std::string* text) const override {
    // Prepending to empty text would make a token out of nothing; the reference tokenizers
    // drop empty sections before normalizing, so an empty input stays empty.
    if (!text->empty()) text->insert(0, prefix_);
    return Status::Ok();
  }

 private:
  std::string prefix_;
};

bool IsJsWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

class StripStep : public Normalizer::Step {
 public:
  StripStep(bool left, bool right) : left_(left), right_(right) {}
  Status Apply(std::string* text) const override {
    size_t begin = 0;
    size_t end = text->size();
    if (left_) {
      while (begin < end) {
        const size_t len = ValidSequenceLength(*text, begin);
        if (!IsJsWhitespace(DecodeSequence(*text, begin, len))) break;
        begin += len;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<uint8_t>((*text)[start]) & 0xC0) == 0x80) --start;
        if (!IsJsWhitespace(DecodeSequence(*text, start, end - start))) break;
        end = start;
      }
    }
    *text = text->substr(begin, end - begin);
    return Status::Ok();
  }

 private:
  bool left_;
  bool right_;
};

Result<Regex> PatternFromConfig(const json& pattern) {
  if (pattern.contains("String")) return Regex::Literal(pattern.at("String").get<std::string>());
  if (pattern.contains("Regex")) return Regex::Compile(pattern.at("Regex").get<std::string>());
  return InvalidArgument("pattern has neither String nor Regex");
}

Status AddSteps(const json& config, std::vector<std::unique_ptr<Normalizer::Step>>* steps) {
  if (config.is_null()) return Status::Ok();
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& child : config.at("normalizers")) RETURN_IF_ERROR(AddSteps(child, steps));
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    steps->push_back(std::make_unique<UnicodeStep>(type));
  } else if (type == "Lowercase") {
    steps->push_back(std::make_unique<LowercaseStep>());
  } else if (type == "Replace") {
    ASSIGN_OR_RETURN(Regex pattern, PatternFromConfig(config.at("pattern")));
    steps->push_back(
        std::make_unique<ReplaceStep>(std::move(pattern), config.at("content").get<std::string>()));
  } else if (type == "Prepend") {
    steps->push_back(std::make_unique<PrependStep>(config.at("prepend").get<std::string>()));
  } else if (type == "Strip") {
    steps->push_back(std::make_unique<StripStep>(config.value("strip_left", true),
                                                 config.value("strip_right", true)));
  } else {
    return Unimplemented("normalizer type " + type);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> UnicodeNormalize(std::string_view text, std::string_view form) {
  ASSIGN_OR_RETURN(utf8proc_option_t options, FormOptions(form));
  // ASCII is invariant under every form, and no composition has an ASCII second character, so
  // text can be cut before any ASCII byte and the pieces normalized separately. Only the runs
  // holding non-ASCII characters (plus the character before each, which may compose with a
  // following mark) go through utf8proc; prose stays a copy.
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t run_begin = pos;
    if (run_begin > copied) --run_begin;  // the ASCII character before the run
    size_t run_end = pos;
    while (run_end < text.size() && static_cast<uint8_t>(text[run_end]) >= 0x80) ++run_end;
    out.append(text.substr(copied, run_begin - copied));
    RETURN_IF_ERROR(Utf8procMap(text.substr(run_begin, run_end - run_begin), options, &out));
    copied = run_end;
    pos = run_end;
  }
  out.append(text.substr(copied));
  return out;
}

Normalizer::Normalizer() = default;
Normalizer::Normalizer(Normalizer&&) noexcept = default;
Normalizer& Normalizer::operator=(Normalizer&&) noexcept = default;
Normalizer::~Normalizer() = default;

Result<Normalizer> Normalizer::Create(const nlohmann::json& config) {
  Normalizer normalizer;
  try {
    RETURN_IF_ERROR(AddSteps(config, &normalizer.steps_));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("normalizer: ") + e.what());
  }
  return normalizer;
}

Result<std::string> Normalizer::Normalize(std::string_view text) const {
  std::string out(text);
  for (const auto& step : steps_) RETURN_IF_ERROR(step->Apply(&out));
  return out;
}

}  // namespace ts::text
