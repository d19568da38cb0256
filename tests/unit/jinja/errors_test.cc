// Failures: syntax and runtime errors name a line and column; hostile templates (unbounded
// recursion, huge loops, exponential growth, deep nesting) end quickly with an error instead
// of hanging, exhausting memory or overflowing the stack.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "text/jinja/template.h"

namespace ts::jinja {
namespace {

Status RenderStatus(const std::string& source, const RenderLimits& limits = {}) {
  auto t = Template::Parse(source);
  if (!t.ok()) return t.status();
  auto out = t->Render(nlohmann::ordered_json::object(), limits);
  return out.ok() ? Status::Ok() : out.status();
}

Status ParseStatus(const std::string& source) { return Template::Parse(source).status(); }

TEST(ParseErrorTest, NamesLineAndColumn) {
  EXPECT_EQ(ParseStatus("{{ 'a' | unknownfilter }}").message(),
            "chat template line 1, column 10: unknown filter 'unknownfilter'");
  EXPECT_EQ(ParseStatus("line1\n{% if x %}\n  {{ y | nope }}\n{% endif %}").message(),
            "chat template line 3, column 10: unknown filter 'nope'");
  EXPECT_EQ(ParseStatus("{% if x is frobbed %}{% endif %}").message(),
            "chat template line 1, column 9: unknown test 'frobbed'");
  EXPECT_EQ(ParseStatus("{% include 'x' %}").message(),
            "chat template line 1, column 4: unknown or unsupported tag 'include'");
  EXPECT_EQ(ParseStatus("{{ 1 + }}").message(), "chat template line 1, column 8: unexpected '}}'");
  EXPECT_EQ(ParseStatus("{% for x in y %}\nbody").message(),
            "chat template line 2, column 5: unexpected end of template, expected 'endfor'");
  EXPECT_EQ(ParseStatus("ok\n  {{ 'abc }}").message(),
            "chat template line 2, column 6: unterminated string literal");
  EXPECT_EQ(ParseStatus("{% break %}").message(),
            "chat template line 1, column 4: 'break' outside of a loop");
  EXPECT_EQ(ParseStatus("{# never closed").message(),
            "chat template line 1, column 1: missing end of comment tag");
  EXPECT_EQ(ParseStatus("{{ x ]] }}").message(), "chat template line 1, column 6: unexpected ']'");
  EXPECT_EQ(ParseStatus("é {{ x $ }}").message(),
            "chat template line 1, column 8: unexpected char '$'");
}

TEST(ParseErrorTest, AllErrorsAreInvalidArgument) {
  for (const char* source : {"{% if %}", "{% endif %}", "{{ }}", "{% set %}", "{% macro %}",
                             "{% for in x %}", "{{ a[] }}", "{{ f(a=1, 2) }}", "{%", "{{ x"}) {
    Status s = ParseStatus(source);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << source << ": " << s.ToString();
  }
}

TEST(RenderErrorTest, NamesLineAndColumn) {
  EXPECT_EQ(RenderStatus("{{ x.y }}").message(),
            "chat template line 1, column 5: 'x' is undefined");
  EXPECT_EQ(RenderStatus("line\n  {{ raise_exception('Roles must alternate') }}").message(),
            "chat template line 2, column 6: Roles must alternate");
  EXPECT_EQ(RenderStatus("{{ 1 + 'a' }}").message(),
            "chat template line 1, column 6: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(RenderStatus("{{ 1 // 0 }}").message(),
            "chat template line 1, column 6: integer division or modulo by zero");
  EXPECT_EQ(RenderStatus("{% for x in 5 %}{% endfor %}").message(),
            "chat template line 1, column 4: 'int' object is not iterable");
  EXPECT_EQ(RenderStatus("{% set a, b = [1] %}").message(),
            "chat template line 1, column 4: not enough values to unpack (expected 2, got 1)");
  EXPECT_EQ(RenderStatus("{% set x = 1 %}{% set x.y = 2 %}").message(),
            "chat template line 1, column 19: cannot assign attribute on non-namespace object 'x'");
  EXPECT_EQ(RenderStatus("{% macro m(a) %}{% endmacro %}{{ m(1, a=2) }}").message(),
            "chat template line 1, column 34: macro 'm' got multiple values for argument 'a'");
  EXPECT_EQ(RenderStatus("{{ 'abc'.split('') }}").message(),
            "chat template line 1, column 9: empty separator");
  EXPECT_EQ(
      RenderStatus("{{ [1, 'a'] | sort }}").message(),
      "chat template line 1, column 15: '<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(RenderStatus("{{ 'x' | tojson(indent='a') }}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderStatus("{{ namespace() | tojson }}").message(),
            "chat template line 1, column 18: Object of type Namespace is not JSON serializable");
}

// Runs a hostile template and checks it ends, quickly, with kResourceExhausted.
void ExpectStopped(const std::string& source, const RenderLimits& limits = {}) {
  auto start = std::chrono::steady_clock::now();
  Status s = RenderStatus(source, limits);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted)
      << source.substr(0, 80) << ": " << s.ToString();
  EXPECT_LT(seconds, 10.0) << source.substr(0, 80);
}

TEST(HostileTemplateTest, InfiniteMacroRecursionStops) {
  ExpectStopped("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  ExpectStopped("{% macro f(n) %}{{ f(n + 1) ~ f(n + 2) }}{% endmacro %}{{ f(0) }}");
  ExpectStopped(
      "{% macro w() %}{% call w() %}x{% endcall %}{% endmacro %}{% call w() %}y{% endcall %}");
}

TEST(HostileTemplateTest, HugeRangesFailAtOnce) {
  ExpectStopped("{% for i in range(10**9) %}{% endfor %}");
  ExpectStopped("{{ range(2**62) | length }}");
  ExpectStopped("{{ 'x' * 10**12 }}");
  ExpectStopped("{{ [1] * 10**12 }}");
}

TEST(HostileTemplateTest, LongLoopsRunOutOfSteps) {
  RenderLimits limits;
  limits.max_steps = 20'000;
  ExpectStopped("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
                limits);
  ExpectStopped(
      "{% set ns = namespace(n=0) %}{% for i in range(100000) %}{% set ns.n = ns.n + 1 %}"
      "{% endfor %}",
      limits);
}

TEST(HostileTemplateTest, ExponentialGrowthRunsOutOfMemoryBudget) {
  RenderLimits limits;
  limits.max_alloc_bytes = 16u << 20;
  ExpectStopped(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}"
      "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
      limits);
  ExpectStopped(
      "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}"
      "{% set ns.l = ns.l + ns.l %}{% endfor %}",
      limits);
  ExpectStopped(
      "{% set ns = namespace(s='ab') %}{% for i in range(100) %}"
      "{% set ns.s = ns.s.replace('a', ns.s) %}{% endfor %}",
      limits);
  ExpectStopped("{{ ('x\\n' * 100000) | indent(1000) }}", limits);
  ExpectStopped(
      "{% set ns = namespace(v=[]) %}{% for i in range(60) %}{% set ns.v = [ns.v, ns.v]"
      " %}{% endfor %}{{ ns.v | tojson(indent=1000) }}",
      limits);
}

TEST(HostileTemplateTest, OutputIsCapped) {
  RenderLimits limits;
  limits.max_output_bytes = 64u << 10;
  ExpectStopped("{% for i in range(100000) %}0123456789{% endfor %}", limits);
  ExpectStopped(
      "{% macro big() %}{% for i in range(100000) %}0123456789{% endfor %}{% endmacro %}"
      "{{ big() | length }}",
      limits);
}

TEST(HostileTemplateTest, DeepNestingIsRefusedByTheParser) {
  const int n = 20'000;
  for (const std::string& source : {"{{ " + std::string(n, '(') + "1" + std::string(n, ')') + " }}",
                                    "{{ " + std::string(n, '[') + std::string(n, ']') + " }}",
                                    [&] {
                                      std::string s = "{{ x";
                                      for (int i = 0; i < n; ++i) s += ".a";
                                      return s + " }}";
                                    }(),
                                    [&] {
                                      std::string s = "{{ 1";
                                      for (int i = 0; i < n; ++i) s += " + 1";
                                      return s + " }}";
                                    }(),
                                    [&] {
                                      std::string s = "{{ 'x'";
                                      for (int i = 0; i < n; ++i) s += " | trim";
                                      return s + " }}";
                                    }(),
                                    [&] {
                                      std::string s;
                                      for (int i = 0; i < n; ++i) s += "{% if true %}";
                                      return s;
                                    }(),
                                    [&] {
                                      std::string s = "{{ ";
                                      for (int i = 0; i < n; ++i) s += "not ";
                                      return s + "x }}";
                                    }(),
                                    [&] {
                                      std::string s = "{{ ";
                                      for (int i = 0; i < n; ++i) s += "-";
                                      return s + "1 }}";
                                    }()}) {
    Status s = RenderStatus(source);
    EXPECT_FALSE(s.ok()) << source.substr(0, 40);
  }
}

TEST(HostileTemplateTest, DeepValuesAndCyclesAreRefused) {
  EXPECT_EQ(RenderStatus("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
                         "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}")
                .code(),
            StatusCode::kOutOfRange);
  // A namespace that holds itself: printing it stops at the depth limit, and the cycle is
  // freed when the render ends (the sanitizer build checks for leaks).
  EXPECT_EQ(RenderStatus("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}").code(),
            StatusCode::kOutOfRange);
  EXPECT_TRUE(RenderStatus("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns.self.self is "
                           "defined }}")
                  .ok());
}

TEST(HostileTemplateTest, MacroOutlivingItsScopeFailsCleanly) {
  Status s = RenderStatus(
      "{% set ns = namespace(f=none) %}{% for i in range(2) %}{% macro m() %}x{% endmacro %}"
      "{% set ns.f = m %}{% endfor %}{{ ns.f() }}");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

}  // namespace
}  // namespace ts::jinja
