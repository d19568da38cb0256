// Grammar: the language constrained decoding keeps the output inside, as a small tree of JSON
// nodes (object, array, string, number, literal alternatives, anyOf, sequence), and the
// byte-level pushdown recognizer that walks it.
//
// A recognizer state is a set of stacks (nondeterminism: anyOf, optional object keys, a number
// that may end or go on). Stacks are persistent linked lists of frames in an arena, so a step
// copies nothing below the top frame; that is what makes walking a token trie with the state
// cheap (the trie walk keeps one state per depth and truncates the arena on the way back).
//
// The language is a subset of what the schema accepts, chosen so every reachable state can still
// complete: object keys come in schema order (required ones always, optional ones maybe), at
// most kMaxWhitespace bytes of whitespace between tokens, numbers have at most 18 integer,
// 16 fraction and 2 exponent digits, bounded numbers have no exponent, pattern strings use
// printable ASCII without escapes. Nesting is capped at kMaxDepth frames. A length-bounded
// string is one state per character count, so each count is its own mask-cache entry.
//
// Immutable after construction by the schema compiler; shared between requests and threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ts {

enum class GrammarNodeKind : uint8_t {
  kObject,    // properties in order, or a map (free keys) when `map_value` >= 0
  kArray,     // items, min_items..max_items
  kString,    // any string, or one matching `dfa` when >= 0
  kNumber,    // integer or number, optionally bounded
  kLiterals,  // one of `literals`, byte for byte (enum, const, true/false/null, raw text)
  kAnyOf,     // one of `children`
  kSequence,  // `children` one after another
};

struct GrammarProperty {
  std::string key_json;  // the key as JSON text, quotes included
  int32_t value = -1;    // node of the value
  bool required = false;
};

// A DFA over bytes for string contents (pattern, format). -1: no transition.
struct StringDfa {
  std::vector<int32_t> next;  // [num_states * 256]
  std::vector<bool> accepting;
  int32_t start = 0;
};

struct GrammarNode {
  GrammarNodeKind kind = GrammarNodeKind::kLiterals;
  std::vector<GrammarProperty> properties;  // kObject
  int32_t map_value = -1;                 // kObject: node of free-key values; -1: listed keys only
  int32_t map_key = -1;                   // kObject with map_value: the (free string) key node
  int32_t items = -1;                     // kArray
  int32_t min_items = 0, max_items = -1;  // kArray; -1: unbounded
  int32_t dfa = -1;                       // kString: index into Grammar::dfas; -1: free
  // kString, free ones only (a pattern's DFA counts for itself, string_pattern.h): characters
  // (code points; an escape is one) at least / at most; -1: unbounded.
  int32_t min_length = 0, max_length = -1;
  bool integer = false;               // kNumber
  bool has_bounds = false;            // kNumber
  int64_t minimum = 0, maximum = 0;   // kNumber, inclusive, when has_bounds
  std::vector<std::string> literals;  // kLiterals
  std::vector<int32_t> children;      // kAnyOf, kSequence
};

// One frame of a stack: a node and how far into it the recognizer is.
struct GrammarFrame {
  int32_t node = 0;
  int32_t phase = 0;  // per kind, see grammar.cc
  int32_t a = 0;      // per kind: property / literal index, item count, DFA or UTF-8 state
  int32_t b = 0;      // per kind: whitespace run, byte position, digit counts
  // kNumber: the integer part's magnitude (bounded numbers). kString with length bounds: the
  // characters so far (saturating at min_length when there is no max_length; 0 without bounds,
  // so unbounded strings keep one state).
  int64_t value = 0;

  bool operator==(const GrammarFrame&) const = default;
};

class Grammar {
 public:
  static constexpr int32_t kMaxDepth = 48;
  static constexpr int32_t kMaxWhitespace = 12;
  static constexpr int32_t kMaxStacks = 64;

  Grammar(std::vector<GrammarNode> nodes, std::vector<StringDfa> dfas, int32_t root);

  const GrammarNode& node(int32_t i) const { return nodes_[static_cast<size_t>(i)]; }
  const StringDfa& dfa(int32_t i) const { return dfas_[static_cast<size_t>(i)]; }
  int32_t root() const { return root_; }
  // False for nodes no finite output satisfies (computed once, as a fixpoint).
  bool is_satisfiable(int32_t i) const { return satisfiable_[static_cast<size_t>(i)]; }

 private:
  std::vector<GrammarNode> nodes_;
  std::vector<StringDfa> dfas_;
  int32_t root_;
  std::vector<bool> satisfiable_;
};

// The recognizer. Holds the arena its states point into; a state is a list of stack tops
// (-1: the empty stack, the value is complete). Not thread-safe: one per user at a time.
class GrammarRecognizer {
 public:
  using State = std::vector<int32_t>;

  explicit GrammarRecognizer(const Grammar* grammar);

  // The state before any byte.
  State Start();
  // The state after `byte`; empty when the byte is not allowed. `state` must be normalized
  // (what Start and Step return).
  void Step(const State& state, uint8_t byte, State* out);
  static bool IsComplete(const State& state);

  // Arena bookkeeping for trie walks: states created after Mark() die at Release(mark).
  size_t Mark() const { return cells_.size(); }
  void Release(size_t mark) { cells_.resize(mark); }
  // Rebuilds the arena with only `state`'s stacks (after a committed step) and returns the
  // state in the new arena.
  State Compact(const State& state);
  // A byte string that identifies the state.
  std::string Key(const State& state) const;
  // The same for mask caches, looking at most `horizon` bytes ahead (the longest token): a
  // length-bounded string's count is kept only as far as it can matter within the horizon, so
  // "30 characters to go" and "40 to go" share a mask when no token is 30 characters long.
  std::string MaskKey(const State& state, int32_t horizon) const;

 private:
  struct Cell {
    GrammarFrame frame;
    int32_t parent;  // -1: bottom
    int32_t depth;
  };

  int32_t Push(int32_t parent, const GrammarFrame& frame);
  int32_t Replace(int32_t top, const GrammarFrame& frame);
  int32_t Pop(int32_t top) const { return cells_[static_cast<size_t>(top)].parent; }
  std::string KeyOf(const State& state, int32_t horizon) const;  // horizon < 0: exact
  // Expands epsilon moves until every stack's top consumes bytes (or the stack is empty).
  void Normalize(int32_t top, State* out, int32_t budget);
  // The stack after top consumes byte, or -2 when it cannot.
  int32_t Consume(int32_t top, uint8_t byte);
  int32_t ConsumeObject(int32_t top, const GrammarFrame& f, const GrammarNode& n, uint8_t c);
  int32_t ConsumeArray(int32_t top, const GrammarFrame& f, const GrammarNode& n, uint8_t c);
  int32_t ConsumeString(int32_t top, const GrammarFrame& f, const GrammarNode& n, uint8_t c);
  int32_t ConsumeNumber(int32_t top, const GrammarFrame& f, const GrammarNode& n, uint8_t c);
  bool NumberFeasible(const GrammarNode& n, bool negative, int64_t magnitude, int32_t digits) const;
  bool NumberCanEnd(const GrammarFrame& f, const GrammarNode& n) const;

  const Grammar* grammar_;
  std::vector<Cell> cells_;
  State scratch_;
};

}  // namespace ts
