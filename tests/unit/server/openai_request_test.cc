#include "server/openai_request.h"

#include <gtest/gtest.h>

#include "server/api_error.h"

namespace ts::server {
namespace {

RequestLimits Limits() {
  RequestLimits limits;
  limits.vocab_size = 1000;
  return limits;
}

Status ChatError(const std::string& body) {
  Result<ChatRequest> r = ParseChatRequest(body, Limits());
  return r.ok() ? Status::Ok() : r.status();
}

std::string ParamOf(const std::string& body) {
  Status s = ChatError(body);
  EXPECT_FALSE(s.ok()) << body;
  if (s.ok()) return "";
  return ToApiError(s).body["error"]["param"].is_null()
             ? ""
             : ToApiError(s).body["error"]["param"].get<std::string>();
}

constexpr const char* kMessages = R"("messages": [{"role": "user", "content": "hi"}])";

std::string With(const std::string& fields) {
  return std::string("{") + kMessages + (fields.empty() ? "" : ", " + fields) + "}";
}

TEST(ParseChatRequest, ReadsEveryField) {
  Result<ChatRequest> r = ParseChatRequest(
      With(R"("model": "m", "max_completion_tokens": 7, "temperature": 0.5, "top_p": 0.9,
              "top_k": 5, "min_p": 0.1, "n": 2, "stop": "END", "stop_token_ids": [3, 4],
              "seed": 42, "presence_penalty": 1, "frequency_penalty": -1,
              "repetition_penalty": 1.1, "logprobs": true, "top_logprobs": 3,
              "logit_bias": {"12": -100}, "stream": true,
              "stream_options": {"include_usage": true}, "ignore_eos": true, "min_tokens": 2,
              "chat_template_kwargs": {"enable_thinking": false}, "cache_salt": "t1",
              "user": "u", "some_unknown_field": {"x": 1})"),
      Limits());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GenerationFields& f = r->fields;
  EXPECT_EQ(f.model, "m");
  EXPECT_EQ(f.max_tokens, 7);
  EXPECT_FLOAT_EQ(f.request.sampling.temperature, 0.5f);
  EXPECT_EQ(f.request.sampling.top_k, 5);
  EXPECT_EQ(f.n, 2);
  EXPECT_EQ(f.request.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(f.request.stop_token_ids, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(f.request.sampling.seed, 42u);
  EXPECT_EQ(f.request.sampling.num_top_logprobs, 3);
  ASSERT_EQ(f.request.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(f.request.sampling.logit_bias[0].first, 12);
  EXPECT_TRUE(f.stream);
  EXPECT_TRUE(f.include_usage);
  EXPECT_TRUE(f.request.ignore_eos);
  EXPECT_EQ(f.request.min_tokens, 2);
  EXPECT_EQ(f.request.cache_salt, "t1");
  EXPECT_EQ(r->chat_template_kwargs["enable_thinking"], false);
  EXPECT_EQ(r->messages[0]["content"], "hi");
}

TEST(ParseChatRequest, JoinsTextParts) {
  Result<ChatRequest> r = ParseChatRequest(
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                    {"type": "text", "text": "b"}]}]})",
      Limits());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->messages[0]["content"], "ab");
}

TEST(ParseChatRequest, NullMeansAbsent) {
  Result<ChatRequest> r =
      ParseChatRequest(With(R"("temperature": null, "stop": null, "n": null)"), Limits());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fields.n, 1);
}

TEST(ParseChatRequest, NamesTheBadField) {
  EXPECT_EQ(ParamOf(With(R"("n": 1000000000)")), "n");
  EXPECT_EQ(ParamOf(With(R"("n": 0)")), "n");
  EXPECT_EQ(ParamOf(With(R"("max_tokens": "5")")), "max_tokens");
  EXPECT_EQ(ParamOf(With(R"("max_tokens": 1e30)")), "max_tokens");
  EXPECT_EQ(ParamOf(With(R"("max_tokens": 18446744073709551615)")), "max_tokens");
  EXPECT_EQ(ParamOf(With(R"("temperature": 2.5)")), "temperature");
  EXPECT_EQ(ParamOf(With(R"("top_p": 0)")), "top_p");
  EXPECT_EQ(ParamOf(With(R"("logprobs": true, "top_logprobs": 21)")), "top_logprobs");
  EXPECT_EQ(ParamOf(With(R"("top_logprobs": 2)")), "top_logprobs");
  EXPECT_EQ(ParamOf(With(R"("stop_token_ids": [1000])")), "stop_token_ids");
  EXPECT_EQ(ParamOf(With(R"("logit_bias": {"-1": 1})")), "logit_bias");
  EXPECT_EQ(ParamOf(With(R"("logit_bias": {"5": 101})")), "logit_bias");
  EXPECT_EQ(ParamOf(With(R"("tools": [{"type": "function", "function": {"name": "a b"}}])")),
            "tools[0].function.name");
  EXPECT_EQ(ParamOf(With(R"("tools": {})")), "tools");
  EXPECT_EQ(ParamOf(With(R"("tool_choice": "required")")), "tool_choice");
  EXPECT_EQ(ParamOf(With(R"("tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}})")), "tool_choice");
  EXPECT_EQ(ParamOf(With(R"("response_format": {"type": "json_schema"})")),
            "response_format.json_schema");
  EXPECT_EQ(ParamOf(With(R"("response_format": {"type": "xml"})")), "response_format.type");
  EXPECT_EQ(ParamOf(With(R"("response_format": {"type": "json_object"}, "min_tokens": 2)")),
            "min_tokens");
  EXPECT_EQ(ParamOf(With(R"("stream_options": {"include_usage": true})")), "stream_options");
  EXPECT_EQ(ParamOf(With(R"("min_tokens": 9, "max_tokens": 3)")), "min_tokens");
  EXPECT_EQ(ParamOf(R"({"messages": []})"), "messages");
  EXPECT_EQ(ParamOf(R"({"messages": [{"role": "user"}]})"), "messages[0].content");
  EXPECT_EQ(ParamOf(R"({"messages": [{"role": "tool", "content": "x"}]})"),
            "messages[0].tool_call_id");
  EXPECT_EQ(ParamOf(R"({"messages": [{"role": "robot", "content": "x"}]})"), "messages[0].role");
  EXPECT_EQ(ParamOf(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"),
            "messages[0].content[0].type");
}

TEST(ParseChatRequest, AcceptsResponseFormatText) {
  EXPECT_TRUE(ChatError(With(R"("response_format": {"type": "text"})")).ok());
  EXPECT_TRUE(ChatError(With(R"("tool_choice": "none")")).ok());
}

TEST(ParseChatRequest, ResponseFormatKeepsSchemaOrder) {
  auto chat = ParseChatRequest(R"({"messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema":
      {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "integer"}}}}}})",
                               Limits());
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  ASSERT_TRUE(chat->fields.response_schema.has_value());
  EXPECT_EQ(chat->fields.response_schema->at("properties").begin().key(), "z");
  auto object = ParseChatRequest(R"({"messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_object"}})", Limits());
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(*object->fields.response_schema, nlohmann::ordered_json({{"type", "object"}}));
}

TEST(ParseChatRequest, ToolsToolChoiceAndToolMessages) {
  auto chat = ParseChatRequest(R"({"messages": [{"role": "user", "content": "x"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
       "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "42"}],
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
      "tool_choice": {"type": "function", "function": {"name": "f"}},
      "parallel_tool_calls": false})", Limits());
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  EXPECT_EQ(chat->tools.size(), 1u);
  EXPECT_EQ(chat->tool_choice.mode, ToolChoice::Mode::kNamed);
  EXPECT_EQ(chat->tool_choice.name, "f");
  EXPECT_FALSE(chat->parallel_tool_calls);
  // Templates get the arguments as an object.
  EXPECT_EQ(chat->messages[1]["tool_calls"][0]["function"]["arguments"]["a"], 1);
  EXPECT_EQ(chat->messages[2]["tool_call_id"], "c1");
  auto none = ParseChatRequest(R"({"messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})",
                               Limits());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->tools.empty());
}

TEST(ParseChatRequest, StopCaps) {
  std::string many = "[";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "\"s\"";
  many += "]";
  EXPECT_EQ(ParamOf(With("\"stop\": " + many)), "stop");
  EXPECT_EQ(ParamOf(With("\"stop\": [\"" + std::string(1025, 'x') + "\"]")), "stop");
  Result<ChatRequest> r = ParseChatRequest(With(R"("stop": [])"), Limits());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fields.request.stop.empty());
}

TEST(ParseJsonObject, RefusesBadJson) {
  for (const char* body : {"", "{", "[]", "1", "{\"a\": NaN}", "{\"a\": Infinity}",
                           "{\"a\": \"\xff\"}", "{\"a\": 1} x"}) {
    Result<nlohmann::json> r = ParseJsonObject(body, 64);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(ToApiError(r.status()).http_status, 400);
    }
  }
}

TEST(ParseJsonObject, DepthIsCheckedBeforeParsing) {
  const std::string deep(100000, '[');
  EXPECT_GT(JsonDepth(deep, 64), 64);
  EXPECT_FALSE(ParseJsonObject(deep, 64).ok());
  EXPECT_EQ(JsonDepth(R"({"a": "[[[[[[", "b": [[1]]})", 64), 3);
  EXPECT_EQ(JsonDepth(R"({"a": "\"[[[["})", 64), 1);
}

TEST(ParseCompletionRequest, PromptForms) {
  auto prompts = [](const std::string& prompt) {
    return ParseCompletionRequest("{\"prompt\": " + prompt + "}", Limits());
  };
  ASSERT_TRUE(prompts(R"("text")").ok());
  EXPECT_EQ(*prompts(R"("text")")->prompts[0].text, "text");
  EXPECT_EQ(prompts("[1, 2, 3]")->prompts[0].ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(prompts(R"(["a", "b"])")->prompts.size(), 2u);
  EXPECT_EQ(prompts("[[1], [2, 3]]")->prompts[1].ids, (std::vector<int32_t>{2, 3}));
  EXPECT_FALSE(prompts("[]").ok());
  EXPECT_FALSE(prompts("[1000]").ok());
  EXPECT_FALSE(prompts("[-1]").ok());
  EXPECT_FALSE(prompts("[[]]").ok());
  EXPECT_FALSE(prompts("5").ok());
  EXPECT_FALSE(ParseCompletionRequest("{}", Limits()).ok());
}

TEST(ParseCompletionRequest, EchoWithLogprobsAsksPromptLogprobs) {
  Result<CompletionRequest> r =
      ParseCompletionRequest(R"({"prompt": "x", "echo": true, "logprobs": 2})", Limits());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fields.request.prompt_logprobs);
  EXPECT_EQ(r->fields.request.sampling.num_top_logprobs, 2);
  EXPECT_FALSE(ParseCompletionRequest(R"({"prompt": "x", "logprobs": true})", Limits()).ok());
  EXPECT_FALSE(ParseCompletionRequest(R"({"prompt": "x", "suffix": "y"})", Limits()).ok());
}

TEST(ApiError, MapsStatusCodes) {
  EXPECT_EQ(ToApiError(InvalidArgument("x")).http_status, 400);
  EXPECT_EQ(ToApiError(NotFound("x")).http_status, 404);
  EXPECT_EQ(ToApiError(ResourceExhausted("x")).http_status, 429);
  EXPECT_EQ(ToApiError(Unavailable("x")).http_status, 503);
  EXPECT_EQ(ToApiError(Internal("x")).http_status, 500);
  const nlohmann::json body = ToApiError(InvalidField("top_p", "must be in (0, 1]")).body;
  EXPECT_EQ(body["error"]["param"], "top_p");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(body["error"].contains("code"));
}

}  // namespace
}  // namespace ts::server
