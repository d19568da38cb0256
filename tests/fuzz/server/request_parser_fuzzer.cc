// Fuzz target: chat, completions, tokenize and detokenize request parsing never crash, never
// throw, and every failure maps to a 4xx error body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "server/api_error.h"
#include "server/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ts::server::RequestLimits limits;
  limits.vocab_size = 151680;
  auto check = [](const ts::Status& status) {
    if (status.ok()) return;
    const ts::server::ApiError error = ts::server::ToApiError(status);
    CHECK(error.http_status >= 400 && error.http_status < 500) << status.ToString();
  };
  auto chat = ts::server::ParseChatRequest(body, limits);
  check(chat.ok() ? ts::Status::Ok() : chat.status());
  auto completion = ts::server::ParseCompletionRequest(body, limits);
  check(completion.ok() ? ts::Status::Ok() : completion.status());
  auto tokenize = ts::server::ParseTokenizeRequest(body, limits);
  check(tokenize.ok() ? ts::Status::Ok() : tokenize.status());
  auto detokenize = ts::server::ParseDetokenizeRequest(body, limits);
  check(detokenize.ok() ? ts::Status::Ok() : detokenize.status());
  return 0;
}
