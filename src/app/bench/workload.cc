#include "app/bench/workload.h"

#include <charconv>
#include <random>

namespace ts::loadgen {

Result<WorkloadKind> ParseWorkloadKind(const std::string& name) {
  if (name == "random") return WorkloadKind::kRandom;
  if (name == "shared-prefix") return WorkloadKind::kSharedPrefix;
  if (name == "multi-turn") return WorkloadKind::kMultiTurn;
  if (name == "restart") return WorkloadKind::kRestart;
  if (name == "unique") return WorkloadKind::kUnique;
  return InvalidArgument("unknown workload '" + name +
                         "' (random, shared-prefix, multi-turn, restart, unique)");
}

namespace {

bool ParseInt(std::string_view text, int32_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<LengthRange> ParseLengthRange(const std::string& text) {
  LengthRange r;
  const size_t colon = text.find(':');
  const std::string_view view(text);
  bool ok = false;
  if (colon == std::string::npos) {
    ok = ParseInt(view, &r.min);
    r.max = r.min;
  } else {
    ok = ParseInt(view.substr(0, colon), &r.min) && ParseInt(view.substr(colon + 1), &r.max);
  }
  if (!ok || r.min < 0 || r.max < r.min) {
    return InvalidArgument("bad length '" + text + "': want N or MIN:MAX with 0 <= MIN <= MAX");
  }
  return r;
}

Status WorkloadOptions::Validate() const {
  if (num_requests < 1) return InvalidArgument("--num-requests must be at least 1");
  if (num_groups < 1) return InvalidArgument("--num-groups must be at least 1");
  if (num_turns < 1) return InvalidArgument("--num-turns must be at least 1");
  if (output.min < 1) return InvalidArgument("output lengths must be at least 1");
  if (unit_range.min < 0 || unit_range.max <= unit_range.min) {
    return InvalidArgument("--token-id-range must be MIN:MAX with 0 <= MIN < MAX");
  }
  return Status::Ok();
}

namespace {

class Generator {
 public:
  Generator(const WorkloadOptions& o, uint64_t seed) : o_(o), rng_(seed) {}

  int32_t Length(LengthRange r) {
    return std::uniform_int_distribution<int32_t>(r.min, r.max)(rng_);
  }

  std::vector<int32_t> Units(int32_t n) {
    const int32_t lo = o_.text ? 0 : o_.unit_range.min;
    const int32_t hi = o_.text ? static_cast<int32_t>(WordList().size()) - 1 : o_.unit_range.max;
    std::uniform_int_distribution<int32_t> dist(lo, hi);
    std::vector<int32_t> units(static_cast<size_t>(n));
    for (int32_t& u : units) u = dist(rng_);
    return units;
  }

  BenchRequest Single(std::vector<int32_t> units) {
    BenchRequest r;
    r.segments.push_back({/*is_assistant=*/false, std::move(units)});
    r.output_tokens = Length(o_.output);
    return r;
  }

 private:
  const WorkloadOptions& o_;
  std::mt19937_64 rng_;
};

}  // namespace

std::vector<std::vector<Session>> BuildWorkload(const WorkloadOptions& o) {
  const uint64_t seed = o.kind == WorkloadKind::kUnique ? std::random_device{}() ^ o.seed : o.seed;
  Generator gen(o, seed);
  std::vector<Session> sessions;
  switch (o.kind) {
    case WorkloadKind::kRandom:
    case WorkloadKind::kUnique:
    case WorkloadKind::kRestart:
      for (int32_t i = 0; i < o.num_requests; ++i) {
        sessions.push_back({{gen.Single(gen.Units(gen.Length(o.input)))}});
      }
      break;
    case WorkloadKind::kSharedPrefix: {
      std::vector<std::vector<int32_t>> prefixes;
      for (int32_t g = 0; g < o.num_groups; ++g)
        prefixes.push_back(gen.Units(gen.Length(o.prefix)));
      for (int32_t i = 0; i < o.num_requests; ++i) {
        std::vector<int32_t> units = prefixes[static_cast<size_t>(i % o.num_groups)];
        const std::vector<int32_t> question = gen.Units(gen.Length(o.input));
        units.insert(units.end(), question.begin(), question.end());
        sessions.push_back({{gen.Single(std::move(units))}});
      }
      break;
    }
    case WorkloadKind::kMultiTurn:
      // The assistant turns resent in the history are random text of the requested output length,
      // not what the server answered: the prompts then stay reproducible from the seed, and the
      // cacheable share of each turn (the previous turn's prompt) is the same for every server.
      for (int32_t i = 0; i < o.num_requests; ++i) {
        Session session;
        std::vector<Segment> history;
        for (int32_t t = 0; t < o.num_turns; ++t) {
          history.push_back({/*is_assistant=*/false, gen.Units(gen.Length(o.input))});
          BenchRequest r;
          r.segments = history;
          r.output_tokens = gen.Length(o.output);
          history.push_back({/*is_assistant=*/true, gen.Units(r.output_tokens)});
          session.turns.push_back(std::move(r));
        }
        sessions.push_back(std::move(session));
      }
      break;
  }
  std::vector<std::vector<Session>> phases{sessions};
  if (o.kind == WorkloadKind::kRestart) {
    for (Session& s : sessions) {
      for (BenchRequest& r : s.turns) r.phase = 1;
    }
    phases.push_back(std::move(sessions));
  }
  return phases;
}

const std::vector<std::string>& WordList() {
  static const std::vector<std::string> words = {
      "the",   "of",     "and",    "to",     "in",    "is",     "it",     "you",     "that",
      "he",    "was",    "for",    "on",     "are",   "with",   "as",     "his",     "they",
      "be",    "at",     "one",    "have",   "this",  "from",   "or",     "had",     "by",
      "word",  "but",    "what",   "some",   "we",    "can",    "out",    "other",   "were",
      "all",   "there",  "when",   "up",     "use",   "your",   "how",    "said",    "an",
      "each",  "she",    "which",  "do",     "their", "time",   "if",     "will",    "way",
      "about", "many",   "then",   "them",   "write", "would",  "like",   "so",      "these",
      "her",   "long",   "make",   "thing",  "see",   "him",    "two",    "has",     "look",
      "more",  "day",    "could",  "go",     "come",  "did",    "number", "sound",   "no",
      "most",  "people", "my",     "over",   "know",  "water",  "than",   "call",    "first",
      "who",   "may",    "down",   "side",   "been",  "now",    "find",   "any",     "new",
      "work",  "part",   "take",   "get",    "place", "made",   "live",   "where",   "after",
      "back",  "little", "only",   "round",  "man",   "year",   "came",   "show",    "every",
      "good",  "me",     "give",   "our",    "under", "name",   "very",   "through", "just",
      "form",  "great",  "think",  "say",    "help",  "low",    "line",   "before",  "turn",
      "cause", "same",   "mean",   "move",   "right", "boy",    "old",    "too",     "does",
      "tell",  "set",    "three",  "want",   "air",   "well",   "also",   "play",    "small",
      "end",   "put",    "home",   "read",   "hand",  "port",   "large",  "add",     "even",
      "land",  "here",   "must",   "big",    "high",  "such",   "follow", "act",     "why",
      "ask",   "men",    "change", "went",   "light", "kind",   "off",    "need",    "house",
      "try",   "us",     "again",  "animal", "point", "mother", "world",  "near",    "build",
      "self",  "earth",  "father", "head",   "stand", "own",    "page",   "should",  "country",
      "found", "answer",
  };
  return words;
}

std::string UnitsToText(const std::vector<int32_t>& units) {
  const std::vector<std::string>& words = WordList();
  std::string text;
  for (const int32_t u : units) {
    if (!text.empty()) text.push_back(' ');
    text += words[static_cast<size_t>(u)];
  }
  return text;
}

}  // namespace ts::loadgen
