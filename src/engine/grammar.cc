#include "engine/grammar.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "base/check.h"

namespace ts {
namespace {

// Phases per node kind. Each comment names what the phase consumes.
enum ObjectPhase : int32_t {
  kObjOpen = 0,         // '{'
  kObjFirst = 1,        // whitespace, '}' when nothing is required; a key (epsilon)
  kObjKey = 2,          // the bytes of property a's key (b: position)
  kObjColon = 3,        // whitespace, ':'
  kObjBeforeValue = 4,  // whitespace; the value (epsilon)
  kObjAfterValue = 5,   // whitespace, ',' or '}'
  kObjAfterComma = 6,   // whitespace; a key (epsilon)
};
enum ArrayPhase : int32_t {
  kArrOpen = 0,        // '['
  kArrFirst = 1,       // whitespace, ']' when min_items is 0; an item (epsilon)
  kArrAfterValue = 2,  // whitespace, ',' or ']'
  kArrAfterComma = 3,  // whitespace; an item (epsilon)
};
enum StringPhase : int32_t {
  kStrOpen = 0,    // '"'
  kStrBody = 1,    // characters, '\\', '"' (a: UTF-8 or DFA state)
  kStrEscape = 2,  // the escaped character
  kStrHex = 3,     // \u digits (b: how many are left)
};
enum NumberPhase : int32_t {
  kNumStart = 0,      // '-' or a digit
  kNumMinus = 1,      // a digit
  kNumZero = 2,       // '.', 'e' (the integer part is 0)
  kNumInt = 3,        // digits, '.', 'e'
  kNumDot = 4,        // a digit
  kNumFrac = 5,       // digits, 'e'
  kNumExp = 6,        // '+', '-', a digit
  kNumExpSign = 7,    // a digit
  kNumExpDigits = 8,  // digits
};

constexpr int32_t kNone = -2;  // no stack: the byte is not allowed
constexpr int32_t kMaxIntDigits = 18;
constexpr int32_t kMaxFracDigits = 16;
constexpr int32_t kMaxExpDigits = 2;  // e99 at most: parsers reject values past double range
constexpr int32_t kNormalizeBudget = 512;

bool IsWhitespace(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }
bool IsHex(uint8_t c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// UTF-8 state of a free string: 0 between characters, else (continuation bytes left << 16) |
// (lowest allowed next byte << 8) | highest allowed next byte.
int32_t Utf8State(int32_t left, int32_t lo, int32_t hi) { return (left << 16) | (lo << 8) | hi; }

// The UTF-8 state after lead byte c, or -1 when c cannot start a character.
int32_t Utf8Lead(uint8_t c) {
  if (c >= 0xC2 && c <= 0xDF) return Utf8State(1, 0x80, 0xBF);
  if (c == 0xE0) return Utf8State(2, 0xA0, 0xBF);
  if (c == 0xED) return Utf8State(2, 0x80, 0x9F);  // no surrogates
  if (c >= 0xE1 && c <= 0xEF) return Utf8State(2, 0x80, 0xBF);
  if (c == 0xF0) return Utf8State(3, 0x90, 0xBF);
  if (c >= 0xF1 && c <= 0xF3) return Utf8State(3, 0x80, 0xBF);
  if (c == 0xF4) return Utf8State(3, 0x80, 0x8F);
  return -1;
}

// Earliest index >= from with no required property before it, per candidate: calls f(j) for
// every property j that may come next.
template <typename F>
void ForEachCandidate(const GrammarNode& n, int32_t from, const Grammar& g, F f) {
  for (size_t j = static_cast<size_t>(from); j < n.properties.size(); ++j) {
    if (g.is_satisfiable(n.properties[j].value)) f(static_cast<int32_t>(j));
    if (n.properties[j].required) break;
  }
}

bool CanClose(const GrammarNode& n, int32_t from) {
  for (size_t j = static_cast<size_t>(from); j < n.properties.size(); ++j) {
    if (n.properties[j].required) return false;
  }
  return true;
}

int64_t Pow10(int32_t k) {
  int64_t p = 1;
  for (int32_t i = 0; i < k; ++i) p *= 10;
  return p;
}

}  // namespace

Grammar::Grammar(std::vector<GrammarNode> nodes, std::vector<StringDfa> dfas, int32_t root)
    : nodes_(std::move(nodes)), dfas_(std::move(dfas)), root_(root) {
  // Satisfiability as a least fixpoint: a node is satisfiable once it has a finite output
  // given what is already known satisfiable. Literals, strings and numbers always are (the
  // compiler rejects empty enums, empty ranges and patterns that match nothing).
  satisfiable_.assign(nodes_.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (satisfiable_[i]) continue;
      const GrammarNode& n = nodes_[i];
      bool sat = true;
      switch (n.kind) {
        case GrammarNodeKind::kObject:
          for (const GrammarProperty& p : n.properties) {
            if (p.required && !satisfiable_[static_cast<size_t>(p.value)]) sat = false;
          }
          break;
        case GrammarNodeKind::kArray:
          sat = n.min_items == 0 || satisfiable_[static_cast<size_t>(n.items)];
          break;
        case GrammarNodeKind::kAnyOf:
          sat = std::any_of(n.children.begin(), n.children.end(),
                            [&](int32_t c) { return satisfiable_[static_cast<size_t>(c)]; });
          break;
        case GrammarNodeKind::kSequence:
          sat = std::all_of(n.children.begin(), n.children.end(),
                            [&](int32_t c) { return satisfiable_[static_cast<size_t>(c)]; });
          break;
        case GrammarNodeKind::kString:
        case GrammarNodeKind::kNumber:
        case GrammarNodeKind::kLiterals:
          break;
      }
      if (sat) {
        satisfiable_[i] = true;
        changed = true;
      }
    }
  }
}

GrammarRecognizer::GrammarRecognizer(const Grammar* grammar) : grammar_(grammar) {}

int32_t GrammarRecognizer::Push(int32_t parent, const GrammarFrame& frame) {
  if (parent == kNone) return kNone;
  const int32_t depth = parent < 0 ? 1 : cells_[static_cast<size_t>(parent)].depth + 1;
  if (depth > Grammar::kMaxDepth) return kNone;
  cells_.push_back({frame, parent, depth});
  return static_cast<int32_t>(cells_.size()) - 1;
}

int32_t GrammarRecognizer::Replace(int32_t top, const GrammarFrame& frame) {
  const Cell& c = cells_[static_cast<size_t>(top)];
  cells_.push_back({frame, c.parent, c.depth});
  return static_cast<int32_t>(cells_.size()) - 1;
}

GrammarRecognizer::State GrammarRecognizer::Start() {
  cells_.clear();
  State state;
  GrammarFrame root;
  root.node = grammar_->root();
  if (grammar_->is_satisfiable(root.node)) Normalize(Push(-1, root), &state, kNormalizeBudget);
  return state;
}

void GrammarRecognizer::Normalize(int32_t top, State* out, int32_t budget) {
  if (top == kNone || budget <= 0 || static_cast<int32_t>(out->size()) >= Grammar::kMaxStacks) {
    return;
  }
  if (top == -1) {
    out->push_back(-1);
    return;
  }
  --budget;
  const GrammarFrame f = cells_[static_cast<size_t>(top)].frame;
  const GrammarNode& n = grammar_->node(f.node);
  const Grammar& g = *grammar_;
  auto with = [&](int32_t phase, int32_t a, int32_t b) {
    GrammarFrame r = f;
    r.phase = phase;
    r.a = a;
    r.b = b;
    return r;
  };
  auto child = [](int32_t node) {
    GrammarFrame r;
    r.node = node;
    return r;
  };
  switch (n.kind) {
    case GrammarNodeKind::kAnyOf:
      for (int32_t c : n.children) {
        if (g.is_satisfiable(c)) Normalize(Replace(top, child(c)), out, budget);
      }
      return;
    case GrammarNodeKind::kSequence: {
      const auto i = static_cast<size_t>(f.phase);
      if (i == n.children.size()) {
        Normalize(Pop(top), out, budget);
      } else if (i + 1 == n.children.size()) {
        // The last child takes the sequence's place (nothing is left to do after it), so a
        // repetition built by recursion in the last position keeps a constant depth.
        Normalize(Replace(top, child(n.children[i])), out, budget);
      } else {
        const int32_t parent = Replace(top, with(f.phase + 1, 0, 0));
        Normalize(Push(parent, child(n.children[i])), out, budget);
      }
      return;
    }
    case GrammarNodeKind::kLiterals:
      if (f.phase == 0) {
        for (size_t j = 0; j < n.literals.size(); ++j) {
          Normalize(Replace(top, with(1, static_cast<int32_t>(j), 0)), out, budget);
        }
      } else if (static_cast<size_t>(f.b) == n.literals[static_cast<size_t>(f.a)].size()) {
        Normalize(Pop(top), out, budget);
      } else {
        out->push_back(top);
      }
      return;
    case GrammarNodeKind::kObject: {
      const bool is_map = n.map_value >= 0;
      if (f.phase == kObjFirst || f.phase == kObjAfterComma) {
        out->push_back(top);
        if (is_map) {
          const int32_t parent = Replace(top, with(kObjColon, 0, 0));
          Normalize(Push(parent, child(n.map_key)), out, budget);
        } else {
          ForEachCandidate(n, f.a, g, [&](int32_t j) {
            Normalize(Replace(top, with(kObjKey, j, 0)), out, budget);
          });
        }
      } else if (f.phase == kObjBeforeValue) {
        out->push_back(top);
        const int32_t value = is_map ? n.map_value : n.properties[static_cast<size_t>(f.a)].value;
        const int32_t parent = Replace(top, with(kObjAfterValue, f.a, 0));
        Normalize(Push(parent, child(value)), out, budget);
      } else {
        out->push_back(top);
      }
      return;
    }
    case GrammarNodeKind::kArray:
      if (f.phase == kArrFirst || f.phase == kArrAfterComma) {
        out->push_back(top);
        const bool room = n.max_items < 0 || f.a < n.max_items;
        if (room && g.is_satisfiable(n.items)) {
          // Unbounded arrays count items only up to min_items: beyond, the count changes nothing.
          int32_t count = f.a + 1;
          if (n.max_items < 0) count = std::min(count, n.min_items);
          const int32_t parent = Replace(top, with(kArrAfterValue, count, 0));
          Normalize(Push(parent, child(n.items)), out, budget);
        }
      } else {
        out->push_back(top);
      }
      return;
    case GrammarNodeKind::kNumber:
      out->push_back(top);
      if (NumberCanEnd(f, n)) Normalize(Pop(top), out, budget);
      return;
    case GrammarNodeKind::kString:
      out->push_back(top);
      return;
  }
}

void GrammarRecognizer::Step(const State& state, uint8_t byte, State* out) {
  out->clear();
  for (int32_t top : state) {
    const int32_t next = Consume(top, byte);
    if (next != kNone) Normalize(next, out, kNormalizeBudget);
  }
}

bool GrammarRecognizer::IsComplete(const State& state) {
  return std::find(state.begin(), state.end(), -1) != state.end();
}

int32_t GrammarRecognizer::Consume(int32_t top, uint8_t c) {
  if (top < 0) return kNone;
  const GrammarFrame f = cells_[static_cast<size_t>(top)].frame;
  const GrammarNode& n = grammar_->node(f.node);
  switch (n.kind) {
    case GrammarNodeKind::kObject:
      return ConsumeObject(top, f, n, c);
    case GrammarNodeKind::kArray:
      return ConsumeArray(top, f, n, c);
    case GrammarNodeKind::kString:
      return ConsumeString(top, f, n, c);
    case GrammarNodeKind::kNumber:
      return ConsumeNumber(top, f, n, c);
    case GrammarNodeKind::kLiterals: {
      const std::string& lit = n.literals[static_cast<size_t>(f.a)];
      if (f.phase != 1 || static_cast<size_t>(f.b) >= lit.size() ||
          static_cast<uint8_t>(lit[static_cast<size_t>(f.b)]) != c) {
        return kNone;
      }
      GrammarFrame r = f;
      ++r.b;
      return Replace(top, r);
    }
    case GrammarNodeKind::kAnyOf:
    case GrammarNodeKind::kSequence:
      break;  // normalized away before any byte
  }
  return kNone;
}

int32_t GrammarRecognizer::ConsumeObject(int32_t top, const GrammarFrame& f, const GrammarNode& n,
                                         uint8_t c) {
  GrammarFrame r = f;
  const bool ws = IsWhitespace(c) && f.b < Grammar::kMaxWhitespace;
  const bool is_map = n.map_value >= 0;
  switch (f.phase) {
    case kObjOpen:
      if (c != '{') return kNone;
      r.phase = kObjFirst;
      r.a = 0;
      r.b = 0;
      return Replace(top, r);
    case kObjFirst:
      if (c == '}' && (is_map || CanClose(n, 0))) return Pop(top);
      [[fallthrough]];
    case kObjAfterComma:
    case kObjBeforeValue:
      if (!ws) return kNone;
      ++r.b;
      return Replace(top, r);
    case kObjKey: {
      const std::string& key = n.properties[static_cast<size_t>(f.a)].key_json;
      if (static_cast<uint8_t>(key[static_cast<size_t>(f.b)]) != c) return kNone;
      ++r.b;
      if (static_cast<size_t>(r.b) == key.size()) {
        r.phase = kObjColon;
        r.b = 0;
      }
      return Replace(top, r);
    }
    case kObjColon:
      if (c == ':') {
        r.phase = kObjBeforeValue;
        r.b = 0;
        return Replace(top, r);
      }
      if (!ws) return kNone;
      ++r.b;
      return Replace(top, r);
    case kObjAfterValue: {
      const int32_t next = f.a + 1;
      if (c == '}' && (is_map || CanClose(n, next))) return Pop(top);
      if (c == ',') {
        bool any = is_map;
        if (!is_map) ForEachCandidate(n, next, *grammar_, [&](int32_t) { any = true; });
        if (!any) return kNone;
        r.phase = kObjAfterComma;
        r.a = is_map ? 0 : next;
        r.b = 0;
        return Replace(top, r);
      }
      if (!ws) return kNone;
      ++r.b;
      return Replace(top, r);
    }
    default:
      return kNone;
  }
}

int32_t GrammarRecognizer::ConsumeArray(int32_t top, const GrammarFrame& f, const GrammarNode& n,
                                        uint8_t c) {
  GrammarFrame r = f;
  const bool ws = IsWhitespace(c) && f.b < Grammar::kMaxWhitespace;
  switch (f.phase) {
    case kArrOpen:
      if (c != '[') return kNone;
      r.phase = kArrFirst;
      return Replace(top, r);
    case kArrFirst:
      if (c == ']' && n.min_items == 0) return Pop(top);
      break;
    case kArrAfterValue:
      if (c == ']' && f.a >= n.min_items) return Pop(top);
      if (c == ',' && (n.max_items < 0 || f.a < n.max_items)) {
        r.phase = kArrAfterComma;
        r.b = 0;
        return Replace(top, r);
      }
      break;
    default:
      break;
  }
  if (!ws || f.phase == kArrOpen) return kNone;
  ++r.b;
  return Replace(top, r);
}

int32_t GrammarRecognizer::ConsumeString(int32_t top, const GrammarFrame& f, const GrammarNode& n,
                                         uint8_t c) {
  GrammarFrame r = f;
  switch (f.phase) {
    case kStrOpen:
      if (c != '"') return kNone;
      r.phase = kStrBody;
      r.a = n.dfa >= 0 ? grammar_->dfa(n.dfa).start : 0;
      return Replace(top, r);
    case kStrBody:
      if (n.dfa >= 0) {
        const StringDfa& d = grammar_->dfa(n.dfa);
        if (c == '"') return d.accepting[static_cast<size_t>(f.a)] ? Pop(top) : kNone;
        if (c < 0x20 || c > 0x7E || c == '\\') return kNone;
        const int32_t next = d.next[static_cast<size_t>(f.a) * 256 + c];
        if (next < 0) return kNone;
        r.a = next;
        return Replace(top, r);
      }
      if (f.a != 0) {  // inside a multi-byte character
        const int32_t left = f.a >> 16, lo = (f.a >> 8) & 0xFF, hi = f.a & 0xFF;
        if (c < lo || c > hi) return kNone;
        r.a = left == 1 ? 0 : Utf8State(left - 1, 0x80, 0xBF);
        return Replace(top, r);
      }
      if (c == '"') return f.value >= n.min_length ? Pop(top) : kNone;
      // Any other byte starts a character (an escape counts at its backslash, a multi-byte
      // character at its lead byte).
      if (n.max_length >= 0 && f.value >= n.max_length) return kNone;
      if (n.min_length > 0 || n.max_length >= 0) {
        r.value = n.max_length >= 0 ? f.value + 1 : std::min<int64_t>(f.value + 1, n.min_length);
      }
      if (c == '\\') {
        r.phase = kStrEscape;
        return Replace(top, r);
      }
      if (c < 0x20) return kNone;
      if (c < 0x80) return r == f ? top : Replace(top, r);  // unchanged frame: no new cell
      r.a = Utf8Lead(c);
      if (r.a < 0) return kNone;
      return Replace(top, r);
    case kStrEscape:
      if (c == 'u') {
        r.phase = kStrHex;
        r.b = 4;
        return Replace(top, r);
      }
      if (std::strchr("\"\\/bfnrt", c) == nullptr || c == 0) return kNone;
      r.phase = kStrBody;
      return Replace(top, r);
    case kStrHex:
      // No \uD800-\uDFFF: a lone surrogate is invalid JSON for strict parsers.
      if (!IsHex(c) || (f.b == 4 && (c == 'd' || c == 'D'))) return kNone;
      r.b = f.b - 1;
      if (r.b == 0) r.phase = kStrBody;
      return Replace(top, r);
    default:
      return kNone;
  }
}

bool GrammarRecognizer::NumberFeasible(const GrammarNode& n, bool negative, int64_t magnitude,
                                       int32_t digits) const {
  if (!n.has_bounds) return true;
  // Magnitudes some completion of the digits can reach, as intervals [lo, hi].
  auto hits = [&](int64_t lo, int64_t hi) {
    const int64_t v_lo = negative ? -hi : lo, v_hi = negative ? -lo : hi;
    return v_lo <= n.maximum && v_hi >= n.minimum;
  };
  if (digits == 0) return hits(0, Pow10(kMaxIntDigits) - 1);
  if (magnitude == 0) return hits(0, 0);
  for (int32_t k = 0; digits + k <= kMaxIntDigits; ++k) {
    const int64_t p = Pow10(k);
    if (hits(magnitude * p, magnitude * p + p - 1)) return true;
  }
  return false;
}

bool GrammarRecognizer::NumberCanEnd(const GrammarFrame& f, const GrammarNode& n) const {
  const bool at_end =
      f.phase == kNumZero || f.phase == kNumInt || f.phase == kNumFrac || f.phase == kNumExpDigits;
  if (!at_end) return false;
  if (!n.has_bounds) return true;
  const int64_t v = f.a != 0 ? -f.value : f.value;
  return v >= n.minimum && v <= n.maximum;
}

int32_t GrammarRecognizer::ConsumeNumber(int32_t top, const GrammarFrame& f, const GrammarNode& n,
                                         uint8_t c) {
  GrammarFrame r = f;
  const bool negative = f.a != 0;
  // A fraction keeps the value within (m, m + 1) of the integer part m: allowed only when that
  // whole interval is in bounds.
  auto fraction_ok = [&] {
    if (n.integer) return false;
    if (!n.has_bounds) return true;
    const int64_t v = negative ? -f.value : f.value, w = negative ? v - 1 : v + 1;
    return v >= n.minimum && v <= n.maximum && w >= n.minimum && w <= n.maximum;
  };
  const bool exponent_ok = !n.integer && !n.has_bounds;
  auto digit = [&](int32_t phase) {
    r.phase = phase;
    r.b = f.phase == phase ? f.b + 1 : 1;
    return Replace(top, r);
  };
  switch (f.phase) {
    case kNumStart:
    case kNumMinus: {
      if (c == '-' && f.phase == kNumStart) {
        if (!NumberFeasible(n, /*negative=*/true, 0, 0)) return kNone;
        r.phase = kNumMinus;
        r.a = 1;
        return Replace(top, r);
      }
      if (!IsDigit(c)) return kNone;
      const int64_t m = c - '0';
      if (!NumberFeasible(n, negative, m, 1)) return kNone;
      r.value = n.has_bounds ? m : 0;
      r.phase = m == 0 ? kNumZero : kNumInt;
      r.b = 1;
      return Replace(top, r);
    }
    case kNumZero:
    case kNumInt:
      if (IsDigit(c) && f.phase == kNumInt && f.b < kMaxIntDigits) {
        const int64_t m = f.value * 10 + (c - '0');
        if (!NumberFeasible(n, negative, n.has_bounds ? m : 1, f.b + 1)) return kNone;
        r.value = n.has_bounds ? m : 0;
        return digit(kNumInt);
      }
      if (c == '.' && fraction_ok()) {
        r.phase = kNumDot;
        r.b = 0;
        return Replace(top, r);
      }
      break;
    case kNumDot:
      if (!IsDigit(c)) return kNone;
      return digit(kNumFrac);
    case kNumFrac:
      if (IsDigit(c) && f.b < kMaxFracDigits) return digit(kNumFrac);
      break;
    case kNumExp:
      if (c == '+' || c == '-') {
        r.phase = kNumExpSign;
        return Replace(top, r);
      }
      if (!IsDigit(c)) return kNone;
      return digit(kNumExpDigits);
    case kNumExpSign:
      if (!IsDigit(c)) return kNone;
      return digit(kNumExpDigits);
    case kNumExpDigits:
      if (IsDigit(c) && f.b < kMaxExpDigits) return digit(kNumExpDigits);
      return kNone;
    default:
      return kNone;
  }
  if ((c == 'e' || c == 'E') && exponent_ok) {
    r.phase = kNumExp;
    r.b = 0;
    return Replace(top, r);
  }
  return kNone;
}

GrammarRecognizer::State GrammarRecognizer::Compact(const State& state) {
  std::vector<Cell> fresh;
  std::unordered_map<int32_t, int32_t> moved;
  // Copies the chain under top (bottom first) and returns its new index.
  auto copy = [&](int32_t top, auto&& self) -> int32_t {
    if (top < 0) return top;
    auto it = moved.find(top);
    if (it != moved.end()) return it->second;
    const Cell c = cells_[static_cast<size_t>(top)];
    const int32_t parent = self(c.parent, self);
    fresh.push_back({c.frame, parent, c.depth});
    const int32_t index = static_cast<int32_t>(fresh.size()) - 1;
    moved.emplace(top, index);
    return index;
  };
  // Equal stacks (same key) are kept once.
  std::vector<std::string> seen;
  State out;
  for (int32_t top : state) {
    std::string key = Key({top});
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(std::move(key));
    out.push_back(copy(top, copy));
  }
  cells_ = std::move(fresh);
  return out;
}

std::string GrammarRecognizer::Key(const State& state) const { return KeyOf(state, -1); }

std::string GrammarRecognizer::MaskKey(const State& state, int32_t horizon) const {
  return KeyOf(state, std::max(horizon, 0));
}

std::string GrammarRecognizer::KeyOf(const State& state, int32_t horizon) const {
  std::vector<std::string> stacks;
  stacks.reserve(state.size());
  for (int32_t top : state) {
    std::string s;
    for (int32_t i = top; i >= 0; i = cells_[static_cast<size_t>(i)].parent) {
      GrammarFrame f = cells_[static_cast<size_t>(i)].frame;
      const GrammarNode& n = grammar_->node(f.node);
      if (horizon >= 0 && i == top && n.kind == GrammarNodeKind::kString && n.dfa < 0 &&
          (n.min_length > 0 || n.max_length >= 0)) {
        // Within `horizon` bytes (at most that many characters) the mask depends on the count
        // only through "characters still needed" and "characters still allowed", each capped
        // just past the horizon; the canonical count is the one that keeps both.
        const int64_t cap = static_cast<int64_t>(horizon) + 1;
        const int64_t need = std::min<int64_t>(std::max<int64_t>(n.min_length - f.value, 0), cap);
        const int64_t room =
            n.max_length >= 0 ? std::min<int64_t>(n.max_length - f.value, cap) : cap;
        f.value = need * (cap + 1) + room;
      }
      s.append(reinterpret_cast<const char*>(&f), sizeof(f));
    }
    s.push_back('|');
    stacks.push_back(std::move(s));
  }
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  std::string key;
  for (const std::string& s : stacks) key += s;
  return key;
}

}  // namespace ts
