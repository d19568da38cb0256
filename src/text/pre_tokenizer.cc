#include "text/pre_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

namespace ts::text {

// One stage of the pre-tokenizer: rewrites the list of pieces; may append rewritten text to
// storage (pieces are offsets, so appending never invalidates them).
struct PreTokenizer::Step {
  virtual ~Step() = default;
  virtual Status Apply(bool is_first_section, std::string* storage,
                       std::vector<MatchSpan>* pieces) const = 0;
};

namespace {

using json = nlohmann::json;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Result<Behavior> ParseBehavior(const std::string& name) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return InvalidArgument("unknown split behavior " + name);
}

struct Segment {
  uint32_t begin;
  uint32_t end;
  bool is_match;
};

// Cuts [begin, end) by the matches (offsets relative to begin) into segments and appends the
// pieces the behavior keeps, with Hugging Face tokenizers' rules for merging delimiters.
void ApplyBehavior(uint32_t begin, uint32_t end, const std::vector<MatchSpan>& matches, bool invert,
                   Behavior behavior, std::vector<MatchSpan>* out) {
  std::vector<Segment> segments;
  uint32_t prev = 0;
  for (const MatchSpan& m : matches) {
    if (m.begin > prev) segments.push_back({begin + prev, begin + m.begin, invert});
    segments.push_back({begin + m.begin, begin + m.end, !invert});
    prev = m.end;
  }
  if (begin + prev < end) segments.push_back({begin + prev, end, invert});

  std::vector<Segment> merged;
  merged.reserve(segments.size());
  bool previous_match = false;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.is_match) merged.push_back(s);
      }
      break;
    case Behavior::kIsolated:
      merged = std::move(segments);
      break;
    case Behavior::kMergedWithPrevious:
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back(s);
        }
        previous_match = s.is_match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty()) {
          merged.back().begin = it->begin;
        } else {
          merged.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    case Behavior::kContiguous:
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back(s);
        }
        previous_match = s.is_match;
      }
      break;
  }
  for (const Segment& s : merged) {
    if (s.end > s.begin) out->push_back({s.begin, s.end});
  }
}

class SplitStep : public PreTokenizer::Step {
 public:
  SplitStep(Regex pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  Status Apply(bool, std::string* storage, std::vector<MatchSpan>* pieces) const override {
    std::vector<MatchSpan> out;
    out.reserve(pieces->size() + storage->size() / 4);
    std::vector<MatchSpan> matches;
    for (const MatchSpan& piece : *pieces) {
      matches.clear();
      const std::string_view text(storage->data() + piece.begin, piece.end - piece.begin);
      RETURN_IF_ERROR(pattern_.FindAll(text, &matches));
      ApplyBehavior(piece.begin, piece.end, matches, invert_, behavior_, &out);
    }
    *pieces = std::move(out);
    return Status::Ok();
  }

 private:
  Regex pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pre-tokenization regex, used by ByteLevel when use_regex is set.
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Appends prefix + storage[piece] to storage and points the piece at the copy.
void PrependToPiece(std::string_view prefix, std::string* storage, MatchSpan* piece) {
  std::string rewritten(prefix);
  rewritten.append(*storage, piece->begin, piece->end - piece->begin);
  const auto begin = static_cast<uint32_t>(storage->size());
  storage->append(rewritten);
  *piece = {begin, static_cast<uint32_t>(storage->size())};
}

class ByteLevelStep : public PreTokenizer::Step {
 public:
  ByteLevelStep(bool add_prefix_space, std::optional<Regex> gpt2)
      : add_prefix_space_(add_prefix_space), gpt2_(std::move(gpt2)) {}

  Status Apply(bool, std::string* storage, std::vector<MatchSpan>* pieces) const override {
    if (add_prefix_space_) {
      for (MatchSpan& piece : *pieces) {
        if ((*storage)[piece.begin] != ' ') PrependToPiece(" ", storage, &piece);
      }
    }
    if (!gpt2_) return Status::Ok();
    std::vector<MatchSpan> out;
    std::vector<MatchSpan> matches;
    for (const MatchSpan& piece : *pieces) {
      matches.clear();
      const std::string_view text(storage->data() + piece.begin, piece.end - piece.begin);
      RETURN_IF_ERROR(gpt2_->FindAll(text, &matches));
      ApplyBehavior(piece.begin, piece.end, matches, /*invert=*/false, Behavior::kIsolated, &out);
    }
    *pieces = std::move(out);
    return Status::Ok();
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> gpt2_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspaceStep : public PreTokenizer::Step {
 public:
  MetaspaceStep(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  Status Apply(bool is_first_section, std::string* storage,
               std::vector<MatchSpan>* pieces) const override {
    std::vector<MatchSpan> out;
    for (size_t i = 0; i < pieces->size(); ++i) {
      const MatchSpan piece = (*pieces)[i];
      std::string rewritten;
      const bool prepend = scheme_ == PrependScheme::kAlways ||
                           (scheme_ == PrependScheme::kFirst && is_first_section && i == 0);
      for (uint32_t p = piece.begin; p < piece.end; ++p) {
        const char c = (*storage)[p];
        if (c == ' ') {
          rewritten.append(replacement_);
        } else {
          rewritten.push_back(c);
        }
      }
      if (prepend && !rewritten.starts_with(replacement_)) rewritten.insert(0, replacement_);
      const auto begin = static_cast<uint32_t>(storage->size());
      storage->append(rewritten);
      const auto end = static_cast<uint32_t>(storage->size());
      if (!split_) {
        out.push_back({begin, end});
        continue;
      }
      std::vector<MatchSpan> matches;
      for (size_t at = rewritten.find(replacement_); at != std::string::npos;
           at = rewritten.find(replacement_, at + replacement_.size())) {
        matches.push_back(
            {static_cast<uint32_t>(at), static_cast<uint32_t>(at + replacement_.size())});
      }
      ApplyBehavior(begin, end, matches, /*invert=*/false, Behavior::kMergedWithNext, &out);
    }
    *pieces = std::move(out);
    return Status::Ok();
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

Result<PrependScheme> MetaspaceScheme(const json& config) {
  if (config.contains("prepend_scheme")) {
    const std::string scheme = config.at("prepend_scheme").get<std::string>();
    if (scheme == "always") return PrependScheme::kAlways;
    if (scheme == "first") return PrependScheme::kFirst;
    if (scheme == "never") return PrependScheme::kNever;
    return InvalidArgument("unknown Metaspace prepend_scheme " + scheme);
  }
  return config.value("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

Status AddSteps(const json& config, std::vector<std::unique_ptr<PreTokenizer::Step>>* steps,
                bool* byte_level) {
  if (*byte_level) return Unimplemented("a pre-tokenizer after ByteLevel");
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& child : config.at("pretokenizers")) {
      RETURN_IF_ERROR(AddSteps(child, steps, byte_level));
    }
  } else if (type == "Split") {
    const json& pattern = config.at("pattern");
    Result<Regex> regex = pattern.contains("Regex")
                              ? Regex::Compile(pattern.at("Regex").get<std::string>())
                              : Regex::Literal(pattern.at("String").get<std::string>());
    if (!regex.ok()) return regex.status();
    ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(config.at("behavior").get<std::string>()));
    steps->push_back(std::make_unique<SplitStep>(std::move(regex).value(), behavior,
                                                 config.value("invert", false)));
  } else if (type == "ByteLevel") {
    std::optional<Regex> gpt2;
    if (config.value("use_regex", true)) {
      ASSIGN_OR_RETURN(Regex regex, Regex::Compile(kGpt2Pattern));
      gpt2 = std::move(regex);
    }
    steps->push_back(
        std::make_unique<ByteLevelStep>(config.value("add_prefix_space", false), std::move(gpt2)));
    *byte_level = true;
  } else if (type == "Metaspace") {
    ASSIGN_OR_RETURN(PrependScheme scheme, MetaspaceScheme(config));
    steps->push_back(std::make_unique<MetaspaceStep>(config.at("replacement").get<std::string>(),
                                                     scheme, config.value("split", true)));
  } else {
    return Unimplemented("pre-tokenizer type " + type);
  }
  return Status::Ok();
}

}  // namespace

PreTokenizer::PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Result<PreTokenizer> PreTokenizer::Create(const nlohmann::json& config) {
  PreTokenizer pre_tokenizer;
  if (config.is_null()) return pre_tokenizer;
  try {
    RETURN_IF_ERROR(AddSteps(config, &pre_tokenizer.steps_, &pre_tokenizer.byte_level_));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("pre_tokenizer: ") + e.what());
  }
  return pre_tokenizer;
}

Status PreTokenizer::Split(std::string_view text, bool is_first_section, std::string* storage,
                           std::vector<MatchSpan>* pieces) const {
  if (text.size() >= UINT32_MAX / 2) return OutOfRange("text section too long to pre-tokenize");
  storage->assign(text);
  pieces->clear();
  if (!text.empty()) pieces->push_back({0, static_cast<uint32_t>(text.size())});
  for (const auto& step : steps_) RETURN_IF_ERROR(step->Apply(is_first_section, storage, pieces));
  return Status::Ok();
}

}  // namespace ts::text
