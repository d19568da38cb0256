// The requests a benchmark sends, built up front from a seed so two runs send the same prompts.
// A prompt is a list of units: token ids when prompts go as ids, or indexes into a word list when
// they go as text (each word is about one token, so lengths carry over approximately). Requests are
// grouped into sessions whose turns run one after another on one client (multi-turn); every other
// workload has one request per session.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace ts::loadgen {

enum class WorkloadKind {
  kRandom,        // random prompts, reproducible from the seed (a second run hits the cache)
  kSharedPrefix,  // num_groups long shared prefixes, request i uses prefix i % num_groups
  kMultiTurn,     // conversations: each turn resends the history plus a new message
  kRestart,       // the same long prompts twice; the runner restarts the server in between
  kUnique,        // salted with a fresh nonce, so nothing is ever shared, even across runs
};

Result<WorkloadKind> ParseWorkloadKind(const std::string& name);

// Inclusive range of lengths; "256" or "128:512" on the command line.
struct LengthRange {
  int32_t min = 0;
  int32_t max = 0;
};

Result<LengthRange> ParseLengthRange(const std::string& text);

struct WorkloadOptions {
  WorkloadKind kind = WorkloadKind::kRandom;
  int32_t num_requests = 32;  // sessions for multi-turn
  uint64_t seed = 0;
  LengthRange input{256, 256};  // per request; per new message in multi-turn
  LengthRange output{64, 64};
  LengthRange prefix{1024, 1024};       // shared-prefix: each group's prefix
  int32_t num_groups = 4;               // shared-prefix
  int32_t num_turns = 4;                // multi-turn
  LengthRange unit_range{1000, 30000};  // token ids drawn from here (ids mode)
  bool text = false;                    // units index the word list instead of being token ids

  Status Validate() const;
};

// One message of a request; completions requests concatenate them.
struct Segment {
  bool is_assistant = false;
  std::vector<int32_t> units;
};

struct BenchRequest {
  std::vector<Segment> segments;
  int32_t output_tokens = 0;
  int32_t phase = 0;  // restart: 0 before, 1 after
};

struct Session {
  std::vector<BenchRequest> turns;
};

// Sessions grouped by phase: one phase, or two for the restart workload (the second repeats the
// first's prompts).
std::vector<std::vector<Session>> BuildWorkload(const WorkloadOptions& options);

// The words text prompts draw units from: short, common English words that tokenizers of the
// Llama/Qwen families encode as one token each after a space.
const std::vector<std::string>& WordList();

// All segments' units as one text (words joined with spaces) or one id list.
std::string UnitsToText(const std::vector<int32_t>& units);

}  // namespace ts::loadgen
