// Template: a parsed Jinja2 chat template, rendered with the semantics transformers uses
// (Python Jinja2, trim_blocks, lstrip_blocks, loopcontrols, tojson without HTML escaping,
// raise_exception and strftime_now).
//
//   ASSIGN_OR_RETURN(Template t, Template::Parse(source));
//   ASSIGN_OR_RETURN(std::string prompt, t.Render(context, RenderLimits{}));
//
// A Template is immutable once parsed: copies share the parsed tree, and any number of threads
// may render one at the same time. Parse and Render never throw; every failure is a Status
// whose message reads "chat template line L, column C: what went wrong" (kInvalidArgument), or
// names the limit that stopped a render (kResourceExhausted).
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "text/jinja/ast.h"
#include "text/jinja/render_limits.h"
#include "text/jinja/value.h"

namespace ts::jinja {

class Template {
 public:
  // Lexes and parses; unknown filters and tests are reported here, with their position.
  static Result<Template> Parse(std::string_view source);

  // REQUIRES: context is a JSON object; its members become template variables (messages,
  // tools, add_generation_prompt, bos_token, ...). Pass ordered_json to keep the key order a
  // client sent (it shows in tojson output); nlohmann::json sorts keys.
  Result<std::string> Render(const nlohmann::ordered_json& context,
                             const RenderLimits& limits = {}) const;
  Result<std::string> Render(const nlohmann::json& context, const RenderLimits& limits = {}) const;
  // `now` is what strftime_now() formats (local time).
  Result<std::string> Render(const Value& context, const RenderLimits& limits,
                             std::chrono::system_clock::time_point now) const;

  // The source after newline normalization (positions in errors refer to it).
  const std::string& source() const { return *source_; }

 private:
  Template(std::shared_ptr<const std::string> source, std::shared_ptr<const ast::Body> body)
      : source_(std::move(source)), body_(std::move(body)) {}

  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const ast::Body> body_;
};

}  // namespace ts::jinja
