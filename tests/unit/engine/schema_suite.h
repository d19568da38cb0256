// The schemas constrained decoding is tested with: the shapes people send (OpenAI structured
// outputs, tool parameters), each supported keyword, nesting, recursion and unions.
#pragma once

#include <string>
#include <vector>

namespace ts::testing {

inline std::vector<std::string> SchemaSuite() {
  return {
      R"({"type": "object"})",
      R"({"type": "string"})",
      R"({"type": "integer"})",
      R"({"type": "number"})",
      R"({"type": "boolean"})",
      R"({"type": "null"})",
      R"({})",
      R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": false})",
      R"({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"},
          "c": {"type": "boolean"}}, "required": ["b"]})",
      R"({"type": "object", "properties": {"city": {"type": "string"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]})",
      R"({"type": "array", "items": {"type": "integer"}})",
      R"({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3})",
      R"({"type": "array", "items": {"type": "number"}, "maxItems": 0})",
      R"({"type": "integer", "minimum": -5, "maximum": 17})",
      R"({"type": "integer", "minimum": 100, "maximum": 1000})",
      R"({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10})",
      R"({"type": "number", "minimum": 0, "maximum": 1})",
      R"({"type": "number", "minimum": -2.5, "maximum": 3.5})",
      R"({"enum": ["red", "green", "blue", 1, 12, null, true]})",
      R"({"const": {"fixed": [1, 2, "three"]}})",
      R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,5}$"})",
      R"({"type": "string", "pattern": "^(foo|bar)+baz?$"})",
      R"({"type": "string", "format": "date"})",
      R"({"type": "string", "format": "uuid"})",
      R"({"type": "string", "format": "date-time"})",
      R"({"type": ["string", "null"]})",
      R"({"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"x": {"type": "string"}},
          "required": ["x"]}]})",
      R"({"oneOf": [{"type": "object", "properties": {"kind": {"const": "circle"},
          "radius": {"type": "number", "minimum": 0}}, "required": ["kind", "radius"]},
          {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer",
          "minimum": 1, "maximum": 100}}, "required": ["kind", "side"]}]})",
      R"({"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
          "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
          "required": ["value"]}}, "$ref": "#/$defs/node"})",
      R"({"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
          "v": {"type": "boolean"}}, "required": ["v", "next"]})",
      R"({"definitions": {"point": {"type": "object", "properties": {"x": {"type": "number"},
          "y": {"type": "number"}}, "required": ["x", "y"], "additionalProperties": false}},
          "type": "object", "properties": {"points": {"type": "array",
          "items": {"$ref": "#/definitions/point"}, "minItems": 1, "maxItems": 4}},
          "required": ["points"]})",
      R"({"type": "object", "additionalProperties": {"type": "integer"}})",
      R"({"type": "object", "properties": {"user": {"type": "object", "properties": {
          "id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
          "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}},
          "required": ["id", "tags"]}, "created": {"type": "string", "format": "date"}},
          "required": ["user", "created"]})",
      R"({"type": "object", "properties": {"q": {"type": "string", "nullable": true},
          "n": {"type": "integer", "minimum": 0}}, "required": ["q", "n"]})",
      R"({"type": "array", "items": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3},
          "maxItems": 3})",
      R"({"type": "string", "minLength": 3, "maxLength": 8})",
      R"({"type": "string", "maxLength": 0})",
      R"({"type": "object", "properties": {"code": {"type": "string", "minLength": 2,
          "maxLength": 2}, "note": {"type": "string", "minLength": 5}, "tags": {"type": "array",
          "items": {"type": "string", "maxLength": 4}, "maxItems": 3}}, "required": ["code",
          "note", "tags"]})",
      R"({"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5})",
      R"({"type": "string", "format": "date", "maxLength": 10})",
      R"({"enum": ["a", "abc", "abcdef", 7], "minLength": 2, "maxLength": 4})",
      R"({"type": "object", "properties": {"location": {"type": "string",
          "description": "City and state"}, "days": {"type": "integer", "minimum": 1,
          "maximum": 14}}, "required": ["location", "days"], "additionalProperties": false,
          "title": "get_forecast"})",
  };
}

}  // namespace ts::testing
