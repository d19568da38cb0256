// The schema compiler and the byte-level recognizer: accepts/rejects per keyword, unsupported
// features named, caps, and random walks over allowed bytes that always end in valid JSON.
#include "engine/grammar.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "engine/json_schema_compiler.h"
#include "engine/string_pattern.h"
#include "tests/unit/engine/schema_suite.h"
#include "tests/unit/engine/schema_validator.h"

namespace ts {
namespace {

using json = nlohmann::json;

std::shared_ptr<const Grammar> Compile(const std::string& schema) {
  auto g = CompileJsonSchema(nlohmann::ordered_json::parse(schema));
  EXPECT_TRUE(g.ok()) << g.status().ToString() << " for " << schema;
  return g.ok() ? std::move(g).value() : nullptr;
}

// Whether the whole text is accepted (complete == true) or is a valid prefix.
enum class Verdict { kRejected, kPrefix, kComplete };

Verdict Feed(const Grammar& g, std::string_view text) {
  GrammarRecognizer r(&g);
  GrammarRecognizer::State s = r.Start(), next;
  for (char c : text) {
    r.Step(s, static_cast<uint8_t>(c), &next);
    if (next.empty()) return Verdict::kRejected;
    s = r.Compact(next);
  }
  return GrammarRecognizer::IsComplete(s) ? Verdict::kComplete : Verdict::kPrefix;
}

TEST(SchemaCompiler, ObjectWithRequiredAndOptional) {
  auto g = Compile(R"({"type": "object", "properties": {"a": {"type": "string"},
      "b": {"type": "integer"}}, "required": ["b"]})");
  EXPECT_EQ(Feed(*g, R"({"a": "x", "b": 3})"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"({"b":-12})"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"({ "a" : "\u00e9\n" , "b" : 0 })"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"({"a": "x"})"), Verdict::kRejected);          // b is required
  EXPECT_EQ(Feed(*g, R"({"b": 3, "a": "x"})"), Verdict::kRejected);  // schema order
  EXPECT_EQ(Feed(*g, R"({"c": 1})"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, R"({"b": 01})"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, R"({"b": 1.5})"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, R"({"a": "x)"), Verdict::kPrefix);
  EXPECT_EQ(Feed(*g, R"({"a": "x"}  )"), Verdict::kRejected);  // nothing after the value
}

TEST(SchemaCompiler, StringsAreJsonWithValidUtf8) {
  auto g = Compile(R"({"type": "string"})");
  EXPECT_EQ(Feed(*g, "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\""), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, "\"\xC3\""), Verdict::kRejected);          // truncated character
  EXPECT_EQ(Feed(*g, "\"\xC0\xAF\""), Verdict::kRejected);      // overlong
  EXPECT_EQ(Feed(*g, "\"\xED\xA0\x80\""), Verdict::kRejected);  // surrogate
  EXPECT_EQ(Feed(*g, "\"\xF0\x9F"), Verdict::kPrefix);
  EXPECT_EQ(Feed(*g, "\"a\tb\""), Verdict::kRejected);  // raw control character
  EXPECT_EQ(Feed(*g, R"("\u0041\"\\")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"("\ud800")"), Verdict::kRejected);  // lone surrogate escape
  EXPECT_EQ(Feed(*g, R"("\x")"), Verdict::kRejected);
}

TEST(SchemaCompiler, NumberBounds) {
  auto g = Compile(R"({"type": "integer", "minimum": -5, "maximum": 17})");
  for (int v = -5; v <= 17; ++v) EXPECT_EQ(Feed(*g, std::to_string(v)), Verdict::kComplete) << v;
  EXPECT_EQ(Feed(*g, "18"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, "-6"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, "170"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, "2"), Verdict::kComplete);
  auto f = Compile(R"({"type": "number", "minimum": 0, "maximum": 1})");
  EXPECT_EQ(Feed(*f, "0.25"), Verdict::kComplete);
  EXPECT_EQ(Feed(*f, "1"), Verdict::kComplete);
  EXPECT_EQ(Feed(*f, "1.5"), Verdict::kRejected);
  EXPECT_EQ(Feed(*f, "-0.5"), Verdict::kRejected);
  EXPECT_EQ(Feed(*f, "1e3"), Verdict::kRejected);
  auto free = Compile(R"({"type": "number"})");
  EXPECT_EQ(Feed(*free, "-0.5e+10"), Verdict::kComplete);
  EXPECT_EQ(Feed(*free, "-"), Verdict::kPrefix);
  EXPECT_EQ(Feed(*free, "1."), Verdict::kPrefix);
}

TEST(SchemaCompiler, EnumsPatternsAndFormats) {
  auto e = Compile(R"({"enum": ["red", 1, 12, null]})");
  EXPECT_EQ(Feed(*e, R"("red")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*e, "1"), Verdict::kComplete);
  EXPECT_EQ(Feed(*e, "12"), Verdict::kComplete);
  EXPECT_EQ(Feed(*e, "13"), Verdict::kRejected);
  auto p = Compile(R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,5}$"})");
  EXPECT_EQ(Feed(*p, R"("AB-1234")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*p, R"("AB-12")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*p, R"("ab-123")"), Verdict::kRejected);
  auto d = Compile(R"({"type": "string", "format": "date"})");
  EXPECT_EQ(Feed(*d, R"("2024-02-29")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*d, R"("2024-13-01")"), Verdict::kRejected);
  auto u = Compile(R"({"type": "string", "format": "uuid"})");
  EXPECT_EQ(Feed(*u, R"("123e4567-e89b-12d3-a456-426614174000")"), Verdict::kComplete);
}

TEST(SchemaCompiler, StringLengthsCountCharacters) {
  auto g = Compile(R"({"type": "string", "minLength": 2, "maxLength": 4})");
  EXPECT_EQ(Feed(*g, R"("ab")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"("abcd")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"("a")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, R"("")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*g, R"("abcde)"), Verdict::kRejected);  // the fifth character
  EXPECT_EQ(Feed(*g, R"("abcd)"), Verdict::kPrefix);
  // A multi-byte character and an escape are one character each.
  EXPECT_EQ(Feed(*g, "\"\xC3\xA9\xF0\x9F\x98\x80\xE2\x82\xAC\\n\""), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, "\"\xC3\xA9\\u0041\\\"\\\\\""), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, "\"\xC3\xA9\\u0041\\\"\\\\x"), Verdict::kRejected);
  auto exact = Compile(R"({"type": "string", "minLength": 3, "maxLength": 3})");
  EXPECT_EQ(Feed(*exact, R"("abc")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*exact, R"("ab")"), Verdict::kRejected);
  auto empty = Compile(R"({"type": "string", "maxLength": 0})");
  EXPECT_EQ(Feed(*empty, R"("")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*empty, R"("a)"), Verdict::kRejected);
  // Only a lower bound: the count saturates, so a long string keeps a bounded state.
  auto at_least = Compile(R"({"type": "string", "minLength": 3})");
  EXPECT_EQ(Feed(*at_least, R"("ab")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*at_least, "\"" + std::string(5000, 'x') + "\""), Verdict::kComplete);
  // Type inferred from the keyword; integral floats accepted.
  auto inferred = Compile(R"({"maxLength": 2.0})");
  EXPECT_EQ(Feed(*inferred, R"("ab")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*inferred, R"("abc")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*inferred, "12"), Verdict::kRejected);
  // With a pattern or a format, the DFA itself counts.
  auto pattern = Compile(R"({"type": "string", "pattern": "^[a-z]+$", "minLength": 2,
      "maxLength": 3})");
  EXPECT_EQ(Feed(*pattern, R"("ab")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*pattern, R"("abc")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*pattern, R"("a")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*pattern, R"("abcd")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*pattern, R"("aB")"), Verdict::kRejected);
  auto unanchored = Compile(R"({"type": "string", "pattern": "x", "maxLength": 3})");
  EXPECT_EQ(Feed(*unanchored, R"("axb")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*unanchored, R"("abc)"), Verdict::kRejected);  // no room left for the x
  // Enum strings outside the bounds are not generated; other types are.
  auto e = Compile(R"({"enum": ["a", "abc", "abcdef", 7], "minLength": 2, "maxLength": 4})");
  EXPECT_EQ(Feed(*e, R"("abc")"), Verdict::kComplete);
  EXPECT_EQ(Feed(*e, R"("a")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*e, R"("abcdef")"), Verdict::kRejected);
  EXPECT_EQ(Feed(*e, "7"), Verdict::kComplete);
  // The largest bound compiles at once and a free string of that length is accepted.
  auto big = Compile(R"({"type": "string", "minLength": 100000, "maxLength": 100000})");
  EXPECT_EQ(Feed(*big, "\"" + std::string(100000, 'y') + "\""), Verdict::kComplete);
}

// Mask-cache keys: a bounded string's count matters only within the horizon (the longest
// token), so long strings do not make a new cache entry per character.
TEST(SchemaCompiler, MaskKeysKeepTheCountOnlyWhereItMatters) {
  auto g = Compile(R"({"type": "string", "minLength": 50, "maxLength": 200})");
  GrammarRecognizer r(g.get());
  std::vector<GrammarRecognizer::State> after;  // after[k]: the state after '"' and k x's
  GrammarRecognizer::State s = r.Start(), next;
  r.Step(s, '"', &next);
  s = r.Compact(next);
  for (int k = 0; k <= 200; ++k) {
    after.push_back(s);
    if (k == 200) break;
    r.Step(s, 'x', &next);
    ASSERT_FALSE(next.empty()) << k;
    s = next;
  }
  constexpr int32_t kHorizon = 16;
  auto mask_key = [&](int k) { return r.MaskKey(after[static_cast<size_t>(k)], kHorizon); };
  EXPECT_NE(r.Key(after[70]), r.Key(after[80]));
  EXPECT_EQ(mask_key(70), mask_key(80));    // 50+ done, 120+ to go: nothing in reach
  EXPECT_EQ(mask_key(70), mask_key(183));   // 17 to go: still out of reach of 16 bytes
  EXPECT_NE(mask_key(183), mask_key(184));  // 16 to go: a 17-byte token would not fit
  EXPECT_NE(mask_key(190), mask_key(191));
  EXPECT_EQ(mask_key(0), mask_key(20));   // 30+ still needed before the closing quote
  EXPECT_NE(mask_key(33), mask_key(34));  // 16 needed: a quote is now in reach
  EXPECT_NE(mask_key(49), mask_key(50));
  // Unbounded strings are unaffected.
  auto free = Compile(R"({"type": "string"})");
  GrammarRecognizer f(free.get());
  GrammarRecognizer::State a = f.Start(), b;
  f.Step(a, '"', &b);
  EXPECT_EQ(f.MaskKey(b, kHorizon), f.Key(b));
}

TEST(SchemaCompiler, RefsAndRecursion) {
  auto g = Compile(R"({"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#"},
      {"type": "null"}]}}, "required": ["next"]})");
  EXPECT_EQ(Feed(*g, R"({"next": {"next": {"next": null}}})"), Verdict::kComplete);
  EXPECT_EQ(Feed(*g, R"({"next": 1})"), Verdict::kRejected);
}

TEST(SchemaCompiler, UnsupportedFeaturesAreNamed) {
  for (const auto& [schema, word] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type": "string", "minLength": 3, "maxLength": 2})",
            "maxLength 2 is below minLength 3"},
           {R"({"type": "string", "maxLength": 100001})", "maxLength must be an integer"},
           {R"({"type": "string", "minLength": -1})", "minLength must be an integer"},
           {R"({"type": "string", "minLength": 1.5})", "minLength must be an integer"},
           {R"({"type": "string", "maxLength": "3"})", "maxLength must be an integer"},
           {R"({"enum": ["a"], "minLength": 2})", "enum/const with no value"},
           {R"({"type": "string", "pattern": "^a{1,3}$", "minLength": 4})",
            "minLength/maxLength leave no string"},
           {R"({"type": "string", "pattern": "^[a-z]*$", "minLength": 10, "maxLength": 5000})",
            "automaton states"},
           {R"({"type": "string", "minLength": 3, "allOf": []})", "allOf"},
           {R"({"allOf": [{"type": "string"}]})", "allOf"},
           {R"({"not": {"type": "string"}})", "not"},
           {R"({"type": "string", "format": "email"})", "email"},
           {R"({"$ref": "http://example.com/x"})", "$ref"},
           {R"j({"type": "string", "pattern": "(?=a)"})j", "lookaround"},
           {R"({"type": "string", "pattern": "\\1"})", "escape"},
           {R"({"type": "integer", "minimum": 0.2, "maximum": 0.8})", "bounds"},
           {R"({"type": "tuple"})", "tuple"},
       }) {
    auto g = CompileJsonSchema(nlohmann::ordered_json::parse(schema));
    ASSERT_FALSE(g.ok()) << schema;
    EXPECT_NE(g.status().message().find(word), std::string::npos) << g.status().message();
  }
}

TEST(SchemaCompiler, UnsatisfiableAndHostileSchemasFailFast) {
  EXPECT_FALSE(CompileJsonSchema(nlohmann::ordered_json::parse(R"({"$ref": "#"})")).ok());
  EXPECT_FALSE(
      CompileJsonSchema(
          nlohmann::ordered_json::parse(
              R"({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]})"))
          .ok());
  // Deep nesting.
  nlohmann::ordered_json deep = {{"type", "string"}};
  for (int i = 0; i < 100; ++i) deep = {{"type", "array"}, {"items", deep}};
  EXPECT_FALSE(CompileJsonSchema(deep).ok());
  // A pattern whose DFA explodes.
  auto p = CompilePattern("(a|b)*a(a|b){40}");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("automaton states"), std::string::npos);
  // Many properties stay linear.
  nlohmann::ordered_json wide = {{"type", "object"},
                                 {"properties", nlohmann::ordered_json::object()}};
  for (int i = 0; i < 20000; ++i) {
    std::string name = std::to_string(i);
    name.insert(name.begin(), 'p');
    wide["properties"][name] = {{"type", "string"}};
  }
  EXPECT_FALSE(CompileJsonSchema(wide).ok());
}

// Random walks over allowed bytes: every complete output parses and validates.
TEST(SchemaCompiler, RandomWalksOverTheSuiteAlwaysValidate) {
  std::mt19937 rng(7);
  for (const std::string& text : testing::SchemaSuite()) {
    const json schema = json::parse(text);
    auto g = Compile(text);
    ASSERT_NE(g, nullptr);
    testing::SchemaValidator validator(schema);
    int complete = 0;
    for (int walk = 0; walk < 30; ++walk) {
      GrammarRecognizer r(g.get());
      GrammarRecognizer::State s = r.Start(), next;
      std::string out;
      for (int step = 0; step < 3000; ++step) {
        std::vector<std::pair<uint8_t, GrammarRecognizer::State>> options;
        for (int c = 0; c < 256; ++c) {
          r.Step(s, static_cast<uint8_t>(c), &next);
          if (!next.empty()) options.emplace_back(static_cast<uint8_t>(c), next);
        }
        const bool done = GrammarRecognizer::IsComplete(s);
        if (options.empty()) {
          ASSERT_TRUE(done) << text << " stuck after " << out;
          break;
        }
        if (done && rng() % 4 == 0) break;
        // Structural bytes more often than string contents, so walks end.
        std::vector<size_t> structural;
        for (size_t i = 0; i < options.size(); ++i) {
          if (std::string_view("\"}],:0123456789tfn").find(static_cast<char>(options[i].first)) !=
              std::string_view::npos) {
            structural.push_back(i);
          }
        }
        const size_t pick = !structural.empty() && rng() % 3 != 0
                                ? structural[rng() % structural.size()]
                                : rng() % options.size();
        out.push_back(static_cast<char>(options[pick].first));
        s = r.Compact(options[pick].second);
      }
      if (!GrammarRecognizer::IsComplete(s)) continue;
      ++complete;
      json v = json::parse(out, nullptr, /*allow_exceptions=*/false);
      ASSERT_FALSE(v.is_discarded()) << text << "\nproduced " << out;
      EXPECT_EQ(validator.Check(v), "") << text << "\nproduced " << out;
    }
    EXPECT_GT(complete, 0) << text;
  }
}

}  // namespace
}  // namespace ts
