// ApiError: how every failure reaches an HTTP client, in OpenAI's error shape:
//   {"error": {"message": "...", "type": "...", "param": "..." | null, "code": ... | null}}
//
// ToApiError is the one place a Status becomes an HTTP status code. Errors that do not come
// from a Status (401 from auth, 404 for an unknown route, 413 from the HTTP layer) are built
// with MakeApiError directly.
//
// A Status message that starts with a quoted field name ("'top_logprobs' must be ...") names
// that field as the error's `param`; request validation writes its messages that way
// (InvalidField below) so clients learn which field was wrong.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ts::server {

struct ApiError {
  int http_status = 500;
  nlohmann::json body;  // {"error": {...}}
};

ApiError MakeApiError(int http_status, std::string_view message, std::string_view type,
                      std::string_view param = {}, std::string_view code = {});

// REQUIRES: !status.ok().
ApiError ToApiError(const Status& status);

// An invalid-argument Status about one request field: "'field' message".
Status InvalidField(std::string_view field, std::string_view message);

}  // namespace ts::server
