#include "server/openai_request.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace ts::server {
namespace {

using nlohmann::json;

// Reads optional fields of one JSON object; a null value counts as absent (as OpenAI does).
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {}

  const json* Find(std::string_view name) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status Bool(std::string_view name, bool* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return InvalidField(name, "must be a boolean");
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status String(std::string_view name, std::string* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return InvalidField(name, "must be a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }

  Status Int(std::string_view name, int64_t min, int64_t max, std::optional<int64_t>* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number_integer()) return InvalidField(name, "must be an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
      return InvalidField(name, "must be at most " + std::to_string(max));
    }
    const int64_t x = v->get<int64_t>();
    if (x < min) return InvalidField(name, "must be at least " + std::to_string(min));
    if (x > max) return InvalidField(name, "must be at most " + std::to_string(max));
    *out = x;
    return Status::Ok();
  }

  Status Int32(std::string_view name, int64_t min, int64_t max, int32_t* out) const {
    std::optional<int64_t> x;
    RETURN_IF_ERROR(Int(name, min, max, &x));
    if (x) *out = static_cast<int32_t>(*x);
    return Status::Ok();
  }

  // A finite number in [min, max]; `open_min` excludes min itself.
  Status Float(std::string_view name, double min, double max, bool open_min, float* out) const {
    const json* v = Find(name);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return InvalidField(name, "must be a number");
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < min || x > max || (open_min && x == min)) {
      return InvalidField(name, std::string("must be in ") + (open_min ? "(" : "[") +
                                    FormatNumber(min) + ", " + FormatNumber(max) + "]");
    }
    *out = static_cast<float>(x);
    return Status::Ok();
  }

 private:
  static std::string FormatNumber(double x) {
    std::string s = std::to_string(x);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  const json& object_;
};

Status CheckTokenId(std::string_view field, int64_t id, int32_t vocab_size) {
  if (id < 0 || id >= vocab_size) {
    return InvalidField(field, "contains token id " + std::to_string(id) +
                                   ", outside the vocabulary [0, " + std::to_string(vocab_size) +
                                   ")");
  }
  return Status::Ok();
}

Result<std::vector<int32_t>> ParseTokenIds(std::string_view field, const json& v,
                                           int32_t vocab_size) {
  if (!v.is_array()) return InvalidField(field, "must be an array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (const json& x : v) {
    if (!x.is_number_integer()) return InvalidField(field, "must contain only integers");
    if (x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(INT32_MAX)) {
      return InvalidField(field, "contains a token id outside the vocabulary");
    }
    const int64_t id = x.get<int64_t>();
    RETURN_IF_ERROR(CheckTokenId(field, id, vocab_size));
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

// Fields that would change the result and that we do not support yet: refused by name.
Status RefuseUnsupported(const Fields& f) {
  for (std::string_view name :
       {"functions", "function_call", "suffix", "audio", "prediction", "guided_json",
        "guided_regex", "guided_choice", "guided_grammar"}) {
    if (f.Find(name) != nullptr) return InvalidField(name, "is not supported by this server");
  }
  if (const json* v = f.Find("best_of"); v != nullptr && *v != 1) {
    return InvalidField("best_of", "other than 1 is not supported");
  }
  if (const json* v = f.Find("modalities"); v != nullptr) {
    if (!v->is_array()) return InvalidField("modalities", "must be an array");
    for (const json& m : *v) {
      if (m != "text") return InvalidField("modalities", "other than [\"text\"] is not supported");
    }
  }
  return Status::Ok();
}

Status ParseStop(const Fields& f, const RequestLimits& limits, std::vector<std::string>* stop) {
  const json* v = f.Find("stop");
  if (v == nullptr) return Status::Ok();
  std::vector<const json*> items;
  if (v->is_string()) {
    items.push_back(v);
  } else if (v->is_array()) {
    if (v->size() > static_cast<size_t>(limits.max_stop)) {
      return InvalidField("stop",
                          "may hold at most " + std::to_string(limits.max_stop) + " strings");
    }
    for (const json& s : *v) items.push_back(&s);
  } else {
    return InvalidField("stop", "must be a string or an array of strings");
  }
  for (const json* s : items) {
    if (!s->is_string()) return InvalidField("stop", "must be a string or an array of strings");
    const std::string& text = s->get_ref<const std::string&>();
    if (text.size() > limits.max_stop_bytes) {
      return InvalidField(
          "stop", "strings may be at most " + std::to_string(limits.max_stop_bytes) + " bytes");
    }
    // An empty stop string would end every generation at once; OpenAI ignores it.
    if (!text.empty()) stop->push_back(text);
  }
  return Status::Ok();
}

Status ParseLogitBias(const Fields& f, int32_t vocab_size,
                      std::vector<std::pair<int32_t, float>>* bias) {
  const json* v = f.Find("logit_bias");
  if (v == nullptr) return Status::Ok();
  if (!v->is_object()) return InvalidField("logit_bias", "must be an object of token id to bias");
  if (v->size() > 1024) return InvalidField("logit_bias", "may hold at most 1024 entries");
  for (const auto& [key, value] : v->items()) {
    int64_t id = -1;
    if (key.empty() || key.size() > 10 ||
        key.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidField("logit_bias", "keys must be token ids, not '" + key.substr(0, 32) + "'");
    }
    id = std::stoll(key);
    RETURN_IF_ERROR(CheckTokenId("logit_bias", id, vocab_size));
    if (!value.is_number() || !std::isfinite(value.get<double>()) ||
        std::abs(value.get<double>()) > 100) {
      return InvalidField("logit_bias", "values must be numbers in [-100, 100]");
    }
    bias->emplace_back(static_cast<int32_t>(id), value.get<float>());
  }
  return Status::Ok();
}

// Everything chat and completions share. `max_tokens_names` lists the accepted spellings.
Status ParseGenerationFields(const Fields& f, const RequestLimits& limits, GenerationFields* out) {
  RETURN_IF_ERROR(RefuseUnsupported(f));
  RETURN_IF_ERROR(f.String("model", &out->model));
  RETURN_IF_ERROR(f.String("user", &out->user));
  GenerationRequest& r = out->request;
  SamplingParams& s = r.sampling;

  std::optional<int64_t> max_tokens;
  RETURN_IF_ERROR(f.Int("max_tokens", 1, INT32_MAX, &max_tokens));
  std::optional<int64_t> max_completion_tokens;
  RETURN_IF_ERROR(f.Int("max_completion_tokens", 1, INT32_MAX, &max_completion_tokens));
  if (max_completion_tokens) max_tokens = max_completion_tokens;
  if (max_tokens) out->max_tokens = static_cast<int32_t>(*max_tokens);
  RETURN_IF_ERROR(f.Int32("min_tokens", 0, INT32_MAX, &r.min_tokens));
  if (out->max_tokens && r.min_tokens > *out->max_tokens) {
    return InvalidField("min_tokens", "must not exceed max_tokens");
  }
  RETURN_IF_ERROR(f.Int32("n", 1, limits.max_n, &out->n));

  RETURN_IF_ERROR(f.Float("temperature", 0, 2, /*open_min=*/false, &s.temperature));
  RETURN_IF_ERROR(f.Float("top_p", 0, 1, /*open_min=*/true, &s.top_p));
  RETURN_IF_ERROR(f.Int32("top_k", -1, limits.vocab_size, &s.top_k));
  RETURN_IF_ERROR(f.Float("min_p", 0, 1, /*open_min=*/false, &s.min_p));
  RETURN_IF_ERROR(f.Float("presence_penalty", -2, 2, /*open_min=*/false, &s.presence_penalty));
  RETURN_IF_ERROR(f.Float("frequency_penalty", -2, 2, /*open_min=*/false, &s.frequency_penalty));
  RETURN_IF_ERROR(f.Float("repetition_penalty", 0, 2, /*open_min=*/true, &s.repetition_penalty));
  std::optional<int64_t> seed;
  RETURN_IF_ERROR(f.Int("seed", INT64_MIN, INT64_MAX, &seed));
  if (const json* v = f.Find("seed"); v != nullptr && v->is_number_unsigned()) {
    s.seed = v->get<uint64_t>();
  } else if (seed) {
    s.seed = static_cast<uint64_t>(*seed);
  }
  RETURN_IF_ERROR(ParseLogitBias(f, limits.vocab_size, &s.logit_bias));

  RETURN_IF_ERROR(ParseStop(f, limits, &r.stop));
  if (const json* v = f.Find("stop_token_ids"); v != nullptr) {
    if (v->is_array() && v->size() > 1024) {
      return InvalidField("stop_token_ids", "may hold at most 1024 ids");
    }
    ASSIGN_OR_RETURN(r.stop_token_ids, ParseTokenIds("stop_token_ids", *v, limits.vocab_size));
  }
  RETURN_IF_ERROR(f.Bool("ignore_eos", &r.ignore_eos));
  RETURN_IF_ERROR(f.Bool("skip_special_tokens", &r.skip_special_tokens));
  RETURN_IF_ERROR(f.String("cache_salt", &r.cache_salt));

  RETURN_IF_ERROR(f.Bool("stream", &out->stream));
  if (const json* v = f.Find("stream_options"); v != nullptr) {
    if (!v->is_object()) return InvalidField("stream_options", "must be an object");
    if (!out->stream) return InvalidField("stream_options", "is only allowed with stream: true");
    Fields options(*v);
    RETURN_IF_ERROR(options.Bool("include_usage", &out->include_usage));
  }
  return Status::Ok();
}

// The text of a message's content: a string, or a list of text parts joined.
Result<std::string> ContentText(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return InvalidField(where, "must be a string or an array of parts");
  std::string text;
  for (size_t j = 0; j < content.size(); ++j) {
    const json& part = content[j];
    const std::string part_where = where + "[" + std::to_string(j) + "]";
    if (!part.is_object()) return InvalidField(part_where, "must be an object");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      return InvalidField(part_where + ".type", "must be a string");
    }
    if (*type != "text") {
      return InvalidField(part_where + ".type",
                          "'" + type->get<std::string>().substr(0, 64) + "' is not supported");
    }
    auto t = part.find("text");
    if (t == part.end() || !t->is_string()) {
      return InvalidField(part_where + ".text", "must be a string");
    }
    text += t->get<std::string>();
  }
  return text;
}

// An assistant message's earlier calls, as templates expect them: arguments as an object
// (Llama's and Qwen's templates serialize it themselves) when the string holds one.
Result<nlohmann::ordered_json> ParseAssistantToolCalls(const json& v, const std::string& where) {
  if (!v.is_array()) return InvalidField(where, "must be an array");
  nlohmann::ordered_json calls = nlohmann::ordered_json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& c = v[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
      return InvalidField(at + ".function", "is required (an object)");
    }
    const json& f = c["function"];
    if (!f.contains("name") || !f["name"].is_string()) {
      return InvalidField(at + ".function.name", "is required (a string)");
    }
    nlohmann::ordered_json call = {{"type", "function"}};
    if (c.contains("id") && c["id"].is_string()) call["id"] = c["id"];
    nlohmann::ordered_json function = {{"name", f["name"]}};
    if (f.contains("arguments")) {
      if (!f["arguments"].is_string()) return InvalidField(at + ".function.arguments", "must be a string");
      auto args = nlohmann::ordered_json::parse(f["arguments"].get<std::string>(), nullptr,
                                                /*allow_exceptions=*/false);
      function["arguments"] = args.is_object() ? args : nlohmann::ordered_json(f["arguments"]);
    } else {
      function["arguments"] = nlohmann::ordered_json::object();
    }
    call["function"] = std::move(function);
    calls.push_back(std::move(call));
  }
  return calls;
}

Result<nlohmann::ordered_json> ParseMessages(const json* v) {
  if (v == nullptr) return InvalidField("messages", "is required");
  if (!v->is_array()) return InvalidField("messages", "must be an array");
  if (v->empty()) return InvalidField("messages", "must not be empty");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (size_t i = 0; i < v->size(); ++i) {
    const json& m = (*v)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidField(where, "must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return InvalidField(where + ".role", "must be a string");
    }
    const std::string& r = role->get_ref<const std::string&>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer" && r != "tool") {
      return InvalidField(where + ".role", "must be system, user, assistant, developer or tool");
    }
    nlohmann::ordered_json out = {{"role", r}};
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (r != "assistant") return InvalidField(where + ".tool_calls", "is only for assistant messages");
      ASSIGN_OR_RETURN(out["tool_calls"], ParseAssistantToolCalls(m["tool_calls"], where + ".tool_calls"));
    }
    if (r == "tool") {
      auto id = m.find("tool_call_id");
      if (id == m.end() || !id->is_string()) {
        return InvalidField(where + ".tool_call_id", "is required (a string) for tool messages");
      }
      out["tool_call_id"] = *id;
    }
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      if (r != "assistant") return InvalidField(where + ".content", "is required");
      out["content"] = "";
    } else {
      ASSIGN_OR_RETURN(std::string text, ContentText(*content, where + ".content"));
      out["content"] = std::move(text);
    }
    for (const char* extra : {"name", "reasoning_content"}) {
      auto it = m.find(extra);
      if (it == m.end() || it->is_null()) continue;
      if (!it->is_string()) return InvalidField(where + "." + extra, "must be a string");
      out[extra] = *it;
    }
    messages.push_back(std::move(out));
  }
  return messages;
}

// The body again with its keys in the client's order (the first parse sorted them).
Result<nlohmann::ordered_json> OrderedBody(std::string_view body) {
  try {
    return nlohmann::ordered_json::parse(body);
  } catch (const nlohmann::ordered_json::exception& e) {
    return InvalidArgument(std::string("invalid JSON body: ") + e.what());
  }
}

Status CheckSchema(const std::string& field, const nlohmann::ordered_json& schema,
                   const RequestLimits& limits) {
  if (!schema.is_object()) return InvalidField(field, "must be a JSON schema (an object)");
  if (schema.dump().size() > limits.max_schema_bytes) {
    return InvalidField(field, "is larger than " + std::to_string(limits.max_schema_bytes) + " bytes");
  }
  return Status::Ok();
}

// Constrained output decides when EOS may come; min_tokens and ignore_eos would contradict it.
Status CheckConstraintCompatible(const GenerationRequest& r, const std::string& field) {
  if (r.min_tokens > 0) return InvalidField("min_tokens", "cannot be combined with " + field);
  if (r.ignore_eos) return InvalidField("ignore_eos", "cannot be combined with " + field);
  return Status::Ok();
}

Status ParseResponseFormat(const nlohmann::ordered_json& root, const RequestLimits& limits,
                           GenerationFields* out) {
  auto it = root.find("response_format");
  if (it == root.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return InvalidField("response_format", "must be an object");
  auto type = it->find("type");
  if (type == it->end() || !type->is_string()) {
    return InvalidField("response_format.type", "must be text, json_object or json_schema");
  }
  if (*type == "text") return Status::Ok();
  if (*type == "json_object") {
    out->response_schema = nlohmann::ordered_json{{"type", "object"}};
  } else if (*type == "json_schema") {
    auto js = it->find("json_schema");
    if (js == it->end() || !js->is_object()) {
      return InvalidField("response_format.json_schema", "is required (an object)");
    }
    if (js->contains("name") && !(*js)["name"].is_string()) {
      return InvalidField("response_format.json_schema.name", "must be a string");
    }
    auto schema = js->find("schema");
    if (schema == js->end()) return InvalidField("response_format.json_schema.schema", "is required");
    RETURN_IF_ERROR(CheckSchema("response_format.json_schema.schema", *schema, limits));
    out->response_schema = *schema;
  } else {
    return InvalidField("response_format.type", "must be text, json_object or json_schema");
  }
  return CheckConstraintCompatible(out->request, "response_format");
}

bool IsToolName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

Status ParseTools(const nlohmann::ordered_json& root, const RequestLimits& limits, ChatRequest* chat) {
  std::vector<std::string> names;
  if (auto it = root.find("tools"); it != root.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidField("tools", "must be an array");
    if (it->size() > static_cast<size_t>(limits.max_tools)) {
      return InvalidField("tools", "may hold at most " + std::to_string(limits.max_tools) + " tools");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::ordered_json& t = (*it)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "") != "function") {
        return InvalidField(at + ".type", "must be \"function\"");
      }
      auto f = t.find("function");
      if (f == t.end() || !f->is_object()) return InvalidField(at + ".function", "is required (an object)");
      auto name = f->find("name");
      if (name == f->end() || !name->is_string() || !IsToolName(name->get<std::string>())) {
        return InvalidField(at + ".function.name", "must be 1-64 letters, digits, '_', '-' or '.'");
      }
      if (std::find(names.begin(), names.end(), name->get<std::string>()) != names.end()) {
        return InvalidField(at + ".function.name", "repeats another tool's name");
      }
      names.push_back(name->get<std::string>());
      if (auto d = f->find("description"); d != f->end() && !d->is_string()) {
        return InvalidField(at + ".function.description", "must be a string");
      }
      if (auto p = f->find("parameters"); p != f->end()) {
        RETURN_IF_ERROR(CheckSchema(at + ".function.parameters", *p, limits));
      }
      chat->tools.push_back(t);
    }
  }
  if (auto it = root.find("tool_choice"); it != root.end() && !it->is_null()) {
    ToolChoice& c = chat->tool_choice;
    if (*it == "none") {
      c.mode = ToolChoice::Mode::kNone;
    } else if (*it == "auto") {
      c.mode = ToolChoice::Mode::kAuto;
    } else if (*it == "required") {
      c.mode = ToolChoice::Mode::kRequired;
    } else if (it->is_object() && it->value("type", "") == "function" && it->contains("function") &&
               (*it)["function"].is_object() && (*it)["function"].contains("name") &&
               (*it)["function"]["name"].is_string()) {
      c.mode = ToolChoice::Mode::kNamed;
      c.name = (*it)["function"]["name"].get<std::string>();
      if (std::find(names.begin(), names.end(), c.name) == names.end()) {
        return InvalidField("tool_choice", "names a function that is not in tools");
      }
    } else {
      return InvalidField("tool_choice",
                          "must be none, auto, required or {\"type\": \"function\", \"function\": "
                          "{\"name\": ...}}");
    }
    if (c.mode == ToolChoice::Mode::kRequired && names.empty()) {
      return InvalidField("tool_choice", "is required but there are no tools");
    }
  }
  if (auto it = root.find("parallel_tool_calls"); it != root.end() && !it->is_null()) {
    if (!it->is_boolean()) return InvalidField("parallel_tool_calls", "must be a boolean");
    chat->parallel_tool_calls = it->get<bool>();
  }
  const ToolChoice::Mode mode = chat->tool_choice.mode;
  if (mode == ToolChoice::Mode::kNone) chat->tools = nlohmann::ordered_json::array();
  if (mode == ToolChoice::Mode::kRequired || mode == ToolChoice::Mode::kNamed) {
    if (chat->fields.response_schema) {
      return InvalidField("tool_choice", "required or named cannot be combined with a JSON response_format");
    }
    return CheckConstraintCompatible(chat->fields.request, "tool_choice");
  }
  return Status::Ok();
}

}  // namespace

Result<json> ParseJsonObject(std::string_view body, int32_t max_depth) {
  if (JsonDepth(body, max_depth) > max_depth) {
    return InvalidArgument("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
  }
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::exception& e) {
    // nlohmann's message names the byte offset and the cause.
    return InvalidArgument(std::string("invalid JSON body: ") + e.what());
  }
  if (!parsed.is_object()) return InvalidArgument("the request body must be a JSON object");
  return parsed;
}

Result<ChatRequest> ParseChatRequest(std::string_view body, const RequestLimits& limits) {
  ASSIGN_OR_RETURN(json root, ParseJsonObject(body, limits.max_json_depth));
  Fields f(root);
  ChatRequest chat;
  RETURN_IF_ERROR(ParseGenerationFields(f, limits, &chat.fields));
  ASSIGN_OR_RETURN(chat.messages, ParseMessages(f.Find("messages")));
  RETURN_IF_ERROR(f.Bool("logprobs", &chat.fields.logprobs));
  RETURN_IF_ERROR(f.Int32("top_logprobs", 0, limits.max_top_logprobs, &chat.fields.top_logprobs));
  if (f.Find("top_logprobs") != nullptr && !chat.fields.logprobs) {
    return InvalidField("top_logprobs", "requires logprobs: true");
  }
  RETURN_IF_ERROR(f.Bool("add_generation_prompt", &chat.add_generation_prompt));
  RETURN_IF_ERROR(f.Bool("continue_final_message", &chat.continue_final_message));
  if (chat.continue_final_message && chat.add_generation_prompt &&
      f.Find("add_generation_prompt") != nullptr) {
    return InvalidField("continue_final_message",
                        "cannot be combined with add_generation_prompt: true");
  }
  if (chat.continue_final_message) chat.add_generation_prompt = false;
  if (const json* v = f.Find("chat_template_kwargs"); v != nullptr) {
    if (!v->is_object()) return InvalidField("chat_template_kwargs", "must be an object");
    for (const auto& [key, value] : v->items()) {
      if (key == "messages" || key == "tools") {
        return InvalidField("chat_template_kwargs", "may not set '" + key + "'");
      }
      chat.chat_template_kwargs[key] = value;
    }
  }
  if (chat.fields.logprobs)
    chat.fields.request.sampling.num_top_logprobs = chat.fields.top_logprobs;
  if (root.contains("response_format") || root.contains("tools") || root.contains("tool_choice")) {
    ASSIGN_OR_RETURN(nlohmann::ordered_json ordered, OrderedBody(body));
    RETURN_IF_ERROR(ParseResponseFormat(ordered, limits, &chat.fields));
    RETURN_IF_ERROR(ParseTools(ordered, limits, &chat));
  }
  return chat;
}

Result<CompletionRequest> ParseCompletionRequest(std::string_view body,
                                                 const RequestLimits& limits) {
  ASSIGN_OR_RETURN(json root, ParseJsonObject(body, limits.max_json_depth));
  Fields f(root);
  CompletionRequest completion;
  RETURN_IF_ERROR(ParseGenerationFields(f, limits, &completion.fields));
  for (const char* name : {"tools", "tool_choice"}) {
    if (f.Find(name) != nullptr) return InvalidField(name, "is only for /v1/chat/completions");
  }
  if (root.contains("response_format")) {
    ASSIGN_OR_RETURN(nlohmann::ordered_json ordered, OrderedBody(body));
    RETURN_IF_ERROR(ParseResponseFormat(ordered, limits, &completion.fields));
  }
  RETURN_IF_ERROR(f.Bool("echo", &completion.echo));
  std::optional<int64_t> logprobs;
  if (const json* v = f.Find("logprobs"); v != nullptr && v->is_boolean()) {
    return InvalidField("logprobs", "must be an integer (top alternatives per token)");
  }
  RETURN_IF_ERROR(f.Int("logprobs", 0, limits.max_top_logprobs, &logprobs));
  if (logprobs) {
    completion.fields.logprobs = true;
    completion.fields.top_logprobs = static_cast<int32_t>(*logprobs);
    completion.fields.request.sampling.num_top_logprobs = completion.fields.top_logprobs;
    completion.fields.request.prompt_logprobs = completion.echo;
  }

  const json* prompt = f.Find("prompt");
  if (prompt == nullptr) return InvalidField("prompt", "is required");
  if (prompt->is_string()) {
    completion.prompts.push_back({prompt->get<std::string>(), {}});
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds("prompt", *prompt, limits.vocab_size));
    completion.prompts.push_back({std::nullopt, std::move(ids)});
  } else if (prompt->is_array() && !prompt->empty()) {
    if (prompt->size() > static_cast<size_t>(limits.max_prompts)) {
      return InvalidField("prompt",
                          "may hold at most " + std::to_string(limits.max_prompts) + " prompts");
    }
    for (const json& p : *prompt) {
      if (p.is_string()) {
        completion.prompts.push_back({p.get<std::string>(), {}});
      } else if (p.is_array()) {
        ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds("prompt", p, limits.vocab_size));
        completion.prompts.push_back({std::nullopt, std::move(ids)});
      } else {
        return InvalidField("prompt",
                            "must be a string, an array of strings, an array of token "
                            "ids or an array of arrays of token ids");
      }
    }
  } else {
    return InvalidField("prompt",
                        "must be a non-empty string, array of strings, array of "
                        "token ids or array of arrays of token ids");
  }
  for (const CompletionPrompt& p : completion.prompts) {
    if (!p.text && p.ids.empty()) return InvalidField("prompt", "must not be empty");
  }
  return completion;
}

Result<TokenizeRequest> ParseTokenizeRequest(std::string_view body, const RequestLimits& limits) {
  ASSIGN_OR_RETURN(json root, ParseJsonObject(body, limits.max_json_depth));
  Fields f(root);
  TokenizeRequest out;
  if (const json* prompt = f.Find("prompt"); prompt != nullptr) {
    if (!prompt->is_string()) return InvalidField("prompt", "must be a string");
    out.prompt = prompt->get<std::string>();
    RETURN_IF_ERROR(f.Bool("add_special_tokens", &out.add_special_tokens));
    return out;
  }
  if (f.Find("messages") == nullptr) return InvalidField("prompt", "or 'messages' is required");
  ASSIGN_OR_RETURN(out.messages, ParseMessages(f.Find("messages")));
  RETURN_IF_ERROR(f.Bool("add_generation_prompt", &out.add_generation_prompt));
  if (const json* v = f.Find("chat_template_kwargs"); v != nullptr) {
    if (!v->is_object()) return InvalidField("chat_template_kwargs", "must be an object");
    for (const auto& [key, value] : v->items()) {
      if (key != "messages" && key != "tools") out.chat_template_kwargs[key] = value;
    }
  }
  return out;
}

Result<std::vector<int32_t>> ParseDetokenizeRequest(std::string_view body,
                                                    const RequestLimits& limits) {
  ASSIGN_OR_RETURN(json root, ParseJsonObject(body, limits.max_json_depth));
  Fields f(root);
  const json* tokens = f.Find("tokens");
  if (tokens == nullptr) return InvalidField("tokens", "is required");
  return ParseTokenIds("tokens", *tokens, limits.vocab_size);
}

}  // namespace ts::server
