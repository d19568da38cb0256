#include "server/api_error.h"

namespace ts::server {
namespace {

// The quoted field name a message starts with, or "" when it starts otherwise.
std::string_view ParamOf(std::string_view message) {
  if (message.size() < 3 || message[0] != '\'') return {};
  const size_t end = message.find('\'', 1);
  if (end == std::string_view::npos || end == 1) return {};
  return message.substr(1, end - 1);
}

}  // namespace

ApiError MakeApiError(int http_status, std::string_view message, std::string_view type,
                      std::string_view param, std::string_view code) {
  nlohmann::json error = {
      {"message", std::string(message)},
      {"type", std::string(type)},
      {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(param))},
      {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(code))},
  };
  return {http_status, {{"error", std::move(error)}}};
}

ApiError ToApiError(const Status& status) {
  CHECK(!status.ok());
  const std::string& message = status.message();
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnimplemented:
      return MakeApiError(400, message, "invalid_request_error", ParamOf(message));
    case StatusCode::kNotFound:
      return MakeApiError(404, message, "invalid_request_error", ParamOf(message),
                          "model_not_found");
    case StatusCode::kResourceExhausted:
      // The engine's queue is full: the client should retry later.
      return MakeApiError(429, message, "rate_limit_exceeded", {}, "queue_full");
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
      return MakeApiError(503, message, "service_unavailable");
    case StatusCode::kOk:
    case StatusCode::kDataLoss:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      break;
  }
  return MakeApiError(500, message, "internal_error");
}

Status InvalidField(std::string_view field, std::string_view message) {
  std::string text;
  text.reserve(field.size() + message.size() + 3);
  text.append("'").append(field).append("' ").append(message);
  return InvalidArgument(std::move(text));
}

}  // namespace ts::server
