// Parser: tokens -> AST. This file parses statements; expressions are ExpressionParser's
// (expression_parser.h), following Jinja2's own grammar and precedence.
//
// Statements: if/elif/else, for (tuple targets, `if` filter, else), set (plain, ns.attr, tuple,
// block with filters), macro, call (with caller parameters), filter blocks, break/continue
// (transformers enables jinja2.ext.loopcontrols), print, and transformers' generation tag,
// whose body is rendered in place. Other tags (include, extends, block, import) are errors.
//
// Hostile input: nesting of statements, brackets and parentheses is capped, and so is the
// depth of every expression tree (ast::kMaxAstDepth), so neither the parser nor anything that
// walks its output recurses without bound.
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"

namespace ts::jinja {

// REQUIRES: tokens come from Tokenize(source). Errors carry "chat template line L, column C".
Result<ast::Body> Parse(std::string_view source, const std::vector<Token>& tokens);

}  // namespace ts::jinja
