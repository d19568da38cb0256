#include "engine/string_pattern.h"

#include <algorithm>
#include <bitset>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ts {
namespace {

using ByteSet = std::bitset<128>;

constexpr int32_t kMaxRepeat = 64;
constexpr size_t kMaxNfaStates = 20000;

ByteSet Alphabet() {
  ByteSet s;
  for (int c = 0x20; c <= 0x7E; ++c) {
    if (c != '"' && c != '\\') s.set(static_cast<size_t>(c));
  }
  return s;
}

ByteSet Range(char lo, char hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(static_cast<size_t>(c));
  return s;
}

ByteSet Digits() { return Range('0', '9'); }
ByteSet Word() { return Range('a', 'z') | Range('A', 'Z') | Digits() | Range('_', '_'); }
ByteSet Space() { return Range(' ', ' '); }

// The regular expression as a tree.
struct Regex {
  enum class Kind { kSet, kConcat, kAlt, kRepeat } kind = Kind::kSet;
  ByteSet set;
  std::vector<std::unique_ptr<Regex>> children;
  int32_t min = 0, max = -1;  // kRepeat; -1: unbounded
};

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}

  Result<std::unique_ptr<Regex>> Parse() {
    ASSIGN_OR_RETURN(auto r, ParseAlt());
    if (i_ != p_.size()) return Error("unbalanced ')'");
    return r;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("pattern: " + what + " (at offset " + std::to_string(i_) + ")");
  }
  bool AtEnd() const { return i_ >= p_.size(); }
  char Peek() const { return p_[i_]; }

  Result<std::unique_ptr<Regex>> ParseAlt() {
    ASSIGN_OR_RETURN(auto first, ParseConcat());
    if (AtEnd() || Peek() != '|') return first;
    auto alt = std::make_unique<Regex>();
    alt->kind = Regex::Kind::kAlt;
    alt->children.push_back(std::move(first));
    while (!AtEnd() && Peek() == '|') {
      ++i_;
      ASSIGN_OR_RETURN(auto next, ParseConcat());
      alt->children.push_back(std::move(next));
    }
    return alt;
  }

  Result<std::unique_ptr<Regex>> ParseConcat() {
    auto cat = std::make_unique<Regex>();
    cat->kind = Regex::Kind::kConcat;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      ASSIGN_OR_RETURN(auto atom, ParseAtom());
      ASSIGN_OR_RETURN(atom, ParseQuantifier(std::move(atom)));
      cat->children.push_back(std::move(atom));
    }
    return cat;
  }

  Result<std::unique_ptr<Regex>> ParseQuantifier(std::unique_ptr<Regex> atom) {
    while (!AtEnd()) {
      int32_t min = 0, max = -1;
      const char c = Peek();
      if (c == '*') {
        ++i_;
      } else if (c == '+') {
        min = 1;
        ++i_;
      } else if (c == '?') {
        max = 1;
        ++i_;
      } else if (c == '{') {
        ++i_;
        ASSIGN_OR_RETURN(min, ParseCount());
        max = min;
        if (!AtEnd() && Peek() == ',') {
          ++i_;
          max = -1;
          if (!AtEnd() && Peek() != '}') {
            ASSIGN_OR_RETURN(max, ParseCount());
          }
        }
        if (AtEnd() || Peek() != '}') return Error("unterminated {n,m}");
        ++i_;
        if (max >= 0 && max < min) return Error("{n,m} with m < n");
      } else {
        return atom;
      }
      if (!AtEnd() && Peek() == '?') ++i_;  // lazy: the same language
      auto rep = std::make_unique<Regex>();
      rep->kind = Regex::Kind::kRepeat;
      rep->min = min;
      rep->max = max;
      rep->children.push_back(std::move(atom));
      atom = std::move(rep);
    }
    return atom;
  }

  Result<int32_t> ParseCount() {
    int32_t n = 0;
    size_t start = i_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      n = n * 10 + (Peek() - '0');
      if (n > kMaxRepeat) return Error("repetition count above " + std::to_string(kMaxRepeat));
      ++i_;
    }
    if (i_ == start) return Error("expected a number in {n,m}");
    return n;
  }

  Result<ByteSet> ParseEscape(bool in_class) {
    if (AtEnd()) return Error("trailing backslash");
    const char c = Peek();
    ++i_;
    switch (c) {
      case 'd':
        return Digits();
      case 'D':
        return Alphabet() & ~Digits();
      case 'w':
        return Word();
      case 'W':
        return Alphabet() & ~Word();
      case 's':
        return Space();
      case 'S':
        return Alphabet() & ~Space();
      default:
        break;
    }
    if (std::string_view(".-^$|?*+()[]{}/,:'#!@%&=<>~`;_ ").find(c) != std::string_view::npos ||
        (in_class && c == ']')) {
      return Range(c, c);
    }
    return Error(std::string("unsupported escape \\") + c);
  }

  Result<ByteSet> ParseClass() {
    ByteSet set;
    bool negate = false;
    if (!AtEnd() && Peek() == '^') {
      negate = true;
      ++i_;
    }
    bool first = true;
    while (!AtEnd() && (Peek() != ']' || first)) {
      first = false;
      ByteSet item;
      char lo = Peek();
      if (lo == '\\') {
        ++i_;
        ASSIGN_OR_RETURN(item, ParseEscape(/*in_class=*/true));
      } else {
        ++i_;
        if (i_ + 1 < p_.size() && Peek() == '-' && p_[i_ + 1] != ']') {
          const char hi = p_[i_ + 1];
          if (hi == '\\') return Error("escaped range end");
          if (hi < lo) return Error("reversed range in a class");
          i_ += 2;
          if (static_cast<unsigned char>(hi) >= 0x80) return Error("non-ASCII characters");
          item = Range(lo, hi);
        } else {
          item = Range(lo, lo);
        }
        if (static_cast<unsigned char>(lo) >= 0x80) return Error("non-ASCII characters");
      }
      set |= item;
    }
    if (AtEnd()) return Error("unterminated class");
    ++i_;
    set &= Alphabet();
    return negate ? (Alphabet() & ~set) : set;
  }

  Result<std::unique_ptr<Regex>> ParseAtom() {
    const char c = Peek();
    ++i_;
    auto atom = std::make_unique<Regex>();
    switch (c) {
      case '(': {
        if (p_.substr(i_, 2) == "?:") {
          i_ += 2;
        } else if (!AtEnd() && Peek() == '?') {
          return Error("lookaround and named groups are not supported");
        }
        ASSIGN_OR_RETURN(atom, ParseAlt());
        if (AtEnd() || Peek() != ')') return Error("unbalanced '('");
        ++i_;
        return atom;
      }
      case '[': {
        ASSIGN_OR_RETURN(atom->set, ParseClass());
        return atom;
      }
      case '.':
        atom->set = Alphabet();
        return atom;
      case '\\': {
        ASSIGN_OR_RETURN(atom->set, ParseEscape(/*in_class=*/false));
        return atom;
      }
      case '^':
      case '$':
        return Error("anchors inside the pattern are not supported");
      case '*':
      case '+':
      case '?':
      case '{':
        return Error("nothing to repeat");
      default:
        break;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return Error("non-ASCII characters");
    if (!Alphabet().test(static_cast<size_t>(c))) {
      return Error("characters that need escaping in JSON (quotes, backslashes, controls)");
    }
    atom->set = Range(c, c);
    return atom;
  }

  std::string_view p_;
  size_t i_ = 0;
};

// Thompson NFA: each state has byte edges (one set, one target) and epsilon edges.
struct Nfa {
  struct State {
    ByteSet set;
    int32_t target = -1;
    std::vector<int32_t> eps;
  };
  std::vector<State> states;

  int32_t Add() {
    states.emplace_back();
    return static_cast<int32_t>(states.size()) - 1;
  }
};

struct Fragment {
  int32_t start, end;
};

Result<Fragment> Build(const Regex& r, Nfa* nfa) {
  if (nfa->states.size() > kMaxNfaStates) return InvalidArgument("pattern: too large");
  switch (r.kind) {
    case Regex::Kind::kSet: {
      Fragment f{nfa->Add(), nfa->Add()};
      nfa->states[static_cast<size_t>(f.start)].set = r.set;
      nfa->states[static_cast<size_t>(f.start)].target = f.end;
      return f;
    }
    case Regex::Kind::kConcat: {
      const int32_t start = nfa->Add();
      int32_t end = start;
      for (const auto& c : r.children) {
        ASSIGN_OR_RETURN(Fragment f, Build(*c, nfa));
        nfa->states[static_cast<size_t>(end)].eps.push_back(f.start);
        end = f.end;
      }
      return Fragment{start, end};
    }
    case Regex::Kind::kAlt: {
      Fragment out{nfa->Add(), nfa->Add()};
      for (const auto& c : r.children) {
        ASSIGN_OR_RETURN(Fragment f, Build(*c, nfa));
        nfa->states[static_cast<size_t>(out.start)].eps.push_back(f.start);
        nfa->states[static_cast<size_t>(f.end)].eps.push_back(out.end);
      }
      return out;
    }
    case Regex::Kind::kRepeat: {
      const Regex& body = *r.children[0];
      const int32_t start = nfa->Add();
      int32_t end = start;
      for (int32_t i = 0; i < r.min; ++i) {
        ASSIGN_OR_RETURN(Fragment f, Build(body, nfa));
        nfa->states[static_cast<size_t>(end)].eps.push_back(f.start);
        end = f.end;
      }
      if (r.max < 0) {
        ASSIGN_OR_RETURN(Fragment f, Build(body, nfa));
        const int32_t exit = nfa->Add();
        nfa->states[static_cast<size_t>(end)].eps.push_back(f.start);
        nfa->states[static_cast<size_t>(end)].eps.push_back(exit);
        nfa->states[static_cast<size_t>(f.end)].eps.push_back(f.start);
        nfa->states[static_cast<size_t>(f.end)].eps.push_back(exit);
        return Fragment{start, exit};
      }
      const int32_t exit = nfa->Add();
      for (int32_t i = r.min; i < r.max; ++i) {
        ASSIGN_OR_RETURN(Fragment f, Build(body, nfa));
        nfa->states[static_cast<size_t>(end)].eps.push_back(f.start);
        nfa->states[static_cast<size_t>(end)].eps.push_back(exit);
        end = f.end;
      }
      nfa->states[static_cast<size_t>(end)].eps.push_back(exit);
      return Fragment{start, exit};
    }
  }
  return InvalidArgument("pattern: unknown node");
}

void Closure(const Nfa& nfa, std::vector<int32_t>* set) {
  std::vector<char> seen(nfa.states.size(), 0);
  std::vector<int32_t> work = *set;
  for (int32_t s : work) seen[static_cast<size_t>(s)] = 1;
  while (!work.empty()) {
    const int32_t s = work.back();
    work.pop_back();
    for (int32_t t : nfa.states[static_cast<size_t>(s)].eps) {
      if (!seen[static_cast<size_t>(t)]) {
        seen[static_cast<size_t>(t)] = 1;
        set->push_back(t);
        work.push_back(t);
      }
    }
  }
  std::sort(set->begin(), set->end());
}

}  // namespace

Result<StringDfa> CompilePattern(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return InvalidArgument("pattern: longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  // Anchors at the ends; an unanchored side allows anything there.
  std::string body(pattern);
  const bool anchored_start = !body.empty() && body.front() == '^';
  if (anchored_start) body.erase(0, 1);
  bool anchored_end = false;
  if (!body.empty() && body.back() == '$') {
    size_t backslashes = 0;
    for (size_t i = body.size() - 1; i > 0 && body[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 0) {
      anchored_end = true;
      body.pop_back();
    }
  }
  const std::string full =
      std::string(anchored_start ? "" : ".*") + "(?:" + body + ")" + (anchored_end ? "" : ".*");
  ASSIGN_OR_RETURN(auto regex, Parser(full).Parse());
  Nfa nfa;
  ASSIGN_OR_RETURN(Fragment f, Build(*regex, &nfa));

  StringDfa dfa;
  std::map<std::vector<int32_t>, int32_t> index;
  std::vector<std::vector<int32_t>> sets;
  std::vector<int32_t> start{f.start};
  Closure(nfa, &start);
  index.emplace(start, 0);
  sets.push_back(start);
  const ByteSet alphabet = Alphabet();
  for (size_t d = 0; d < sets.size(); ++d) {
    dfa.next.resize((d + 1) * 256, -1);
    for (size_t c = 0; c < 128; ++c) {
      if (!alphabet.test(c)) continue;
      std::vector<int32_t> moved;
      for (int32_t s : sets[d]) {
        const Nfa::State& st = nfa.states[static_cast<size_t>(s)];
        if (st.target >= 0 && st.set.test(c)) moved.push_back(st.target);
      }
      if (moved.empty()) continue;
      std::sort(moved.begin(), moved.end());
      moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
      Closure(nfa, &moved);
      auto [it, inserted] = index.emplace(moved, static_cast<int32_t>(sets.size()));
      if (inserted) {
        if (static_cast<int32_t>(sets.size()) >= kMaxDfaStates) {
          return InvalidArgument("pattern: needs more than " + std::to_string(kMaxDfaStates) +
                                 " automaton states");
        }
        sets.push_back(moved);
      }
      dfa.next[d * 256 + c] = it->second;
    }
  }
  const size_t n = sets.size();
  dfa.accepting.resize(n);
  for (size_t d = 0; d < n; ++d) {
    dfa.accepting[d] = std::binary_search(sets[d].begin(), sets[d].end(), f.end);
  }
  // Drop transitions into states that cannot reach acceptance: a generator must never enter one.
  std::vector<bool> live = dfa.accepting;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t d = 0; d < n; ++d) {
      if (live[d]) continue;
      for (size_t c = 0; c < 256; ++c) {
        const int32_t t = dfa.next[d * 256 + c];
        if (t >= 0 && live[static_cast<size_t>(t)]) {
          live[d] = true;
          changed = true;
          break;
        }
      }
    }
  }
  if (!live[0]) return InvalidArgument("pattern: matches no string without JSON escapes");
  for (int32_t& t : dfa.next) {
    if (t >= 0 && !live[static_cast<size_t>(t)]) t = -1;
  }
  dfa.start = 0;
  return dfa;
}

Result<StringDfa> LimitLength(const StringDfa& dfa, int32_t min_length, int32_t max_length) {
  // The counter's top value: counts past it behave the same.
  const int32_t top = max_length >= 0 ? max_length : min_length;
  std::map<std::pair<int32_t, int32_t>, int32_t> index;  // (state, count) -> product state
  std::vector<std::pair<int32_t, int32_t>> states{{dfa.start, 0}};
  index.emplace(states[0], 0);
  StringDfa out;
  for (size_t p = 0; p < states.size(); ++p) {
    const auto [d, count] = states[p];
    out.next.resize((p + 1) * 256, -1);
    if (max_length >= 0 && count >= max_length) continue;
    const int32_t next_count = std::min(count + 1, top);
    for (size_t c = 0; c < 256; ++c) {
      const int32_t t = dfa.next[static_cast<size_t>(d) * 256 + c];
      if (t < 0) continue;
      auto [it, inserted] =
          index.emplace(std::make_pair(t, next_count), static_cast<int32_t>(states.size()));
      if (inserted) {
        if (static_cast<int32_t>(states.size()) >= kMaxDfaStates) {
          return InvalidArgument("pattern with minLength/maxLength: needs more than " +
                                 std::to_string(kMaxDfaStates) + " automaton states");
        }
        states.push_back(it->first);
      }
      out.next[p * 256 + c] = it->second;
    }
  }
  const size_t n = states.size();
  out.accepting.resize(n);
  for (size_t p = 0; p < n; ++p) {
    out.accepting[p] =
        dfa.accepting[static_cast<size_t>(states[p].first)] && states[p].second >= min_length;
  }
  // As in CompilePattern: no transition may lead where acceptance is out of reach. Counter
  // chains are long (one state per character), so liveness is a search over reversed edges
  // rather than a fixpoint of sweeps.
  std::vector<std::vector<int32_t>> sources(n);
  for (size_t p = 0; p < n; ++p) {
    for (size_t c = 0; c < 256; ++c) {
      const int32_t t = out.next[p * 256 + c];
      if (t >= 0) sources[static_cast<size_t>(t)].push_back(static_cast<int32_t>(p));
    }
  }
  std::vector<bool> live = out.accepting;
  std::vector<int32_t> work;
  for (size_t p = 0; p < n; ++p) {
    if (live[p]) work.push_back(static_cast<int32_t>(p));
  }
  while (!work.empty()) {
    const int32_t t = work.back();
    work.pop_back();
    for (int32_t p : sources[static_cast<size_t>(t)]) {
      if (live[static_cast<size_t>(p)]) continue;
      live[static_cast<size_t>(p)] = true;
      work.push_back(p);
    }
  }
  if (!live[0]) {
    return InvalidArgument("minLength/maxLength leave no string that matches the pattern");
  }
  for (int32_t& t : out.next) {
    if (t >= 0 && !live[static_cast<size_t>(t)]) t = -1;
  }
  out.start = 0;
  return out;
}

}  // namespace ts
