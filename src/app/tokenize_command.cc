// `tierserve tokenize` and `tierserve detokenize`: the model's tokenizer on the command line.
// The model folder may hold only the tokenizer files (no weights).
//   tokenize   --model DIR [--no-special] [--add-special]   UTF-8 text on stdin -> JSON id array
//   tokenize   --model DIR --chat [--render-only]           {"messages": [...], "tools": [...],
//              "add_generation_prompt": true, ...template kwargs} on stdin -> ids (or the text)
//   detokenize --model DIR [--skip-special]                 JSON id array on stdin -> text
// Text goes to stdout byte for byte (no added newline after detokenized text), errors to stderr
// with exit code 1.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/commands.h"
#include "base/log.h"
#include "server/chat_prompt.h"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace ts::app {
namespace {

struct TokenizeFlags {
  std::string model;
  bool no_special = false;    // special-token strings in the text are plain text
  bool add_special = false;   // wrap in the post-processor's BOS/EOS
  bool skip_special = false;  // detokenize: drop special tokens
  bool chat = false;          // stdin is a chat request rendered by the model's template
  bool render_only = false;   // with chat: print the rendered prompt instead of its ids
};

// A detokenize input of this size holds far more ids than any context window.
constexpr size_t kMaxIdsJsonBytes = size_t{256} << 20;

Result<std::string> ReadStdin(size_t max_bytes) {
  std::string data;
  char buffer[1 << 16];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof(buffer), stdin);
    data.append(buffer, n);
    if (data.size() > max_bytes) return OutOfRange("stdin is larger than the limit");
    if (n < sizeof(buffer)) break;
  }
  if (std::ferror(stdin)) return IoError("reading stdin failed");
  return data;
}

// Encodes text and prints the ids as one JSON array.
Status PrintIds(const text::Tokenizer& tokenizer, std::string_view text,
                const text::EncodeOptions& options) {
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.Encode(text, options));
  std::string out = nlohmann::json(ids).dump();
  out.push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  return Status::Ok();
}

// The server's path: the template renders the conversation, message content never becomes
// control tokens (server/chat_prompt.h).
Status RunChat(const text::Tokenizer& tokenizer, const TokenizeFlags& f, const std::string& input) {
  nlohmann::ordered_json request = nlohmann::ordered_json::parse(input, nullptr, false);
  if (request.is_discarded() || !request.is_object() || !request.contains("messages") ||
      !request["messages"].is_array()) {
    return InvalidArgument("--chat expects a JSON object with a \"messages\" array on stdin");
  }
  ASSIGN_OR_RETURN(jinja::ChatTemplate chat_template, jinja::ChatTemplate::Load(f.model));
  const nlohmann::ordered_json messages = request["messages"];
  const bool add_generation_prompt = request.value("add_generation_prompt", true);
  request.erase("messages");
  request.erase("add_generation_prompt");
  server::ChatPrompt prompt(&tokenizer, std::move(chat_template),
                            /*allow_special_in_content=*/false);
  if (f.render_only) {
    ASSIGN_OR_RETURN(std::string text, prompt.Render(messages, add_generation_prompt, request));
    std::fwrite(text.data(), 1, text.size(), stdout);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                   prompt.EncodeChat(messages, add_generation_prompt, request));
  std::string out = nlohmann::json(ids).dump() + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return Status::Ok();
}

Status RunTokenize(const TokenizeFlags& f) {
  ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::Load(f.model));
  ASSIGN_OR_RETURN(std::string input, ReadStdin(text::Tokenizer::kMaxEncodeBytes));
  if (f.chat) return RunChat(tokenizer, f, input);
  text::EncodeOptions options;
  options.add_special = f.add_special;
  options.parse_special = !f.no_special;
  return PrintIds(tokenizer, input, options);
}

Result<std::vector<int32_t>> ParseIds(const std::string& input) {
  try {
    const nlohmann::json ids = nlohmann::json::parse(input);
    if (!ids.is_array()) return InvalidArgument("stdin must hold a JSON array of token ids");
    std::vector<int32_t> out;
    out.reserve(ids.size());
    for (const nlohmann::json& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return InvalidArgument("not a token id: " + id.dump());
      }
      out.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("stdin is not JSON: ") + e.what());
  }
}

Status RunDetokenize(const TokenizeFlags& f) {
  ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::Load(f.model));
  ASSIGN_OR_RETURN(std::string input, ReadStdin(kMaxIdsJsonBytes));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseIds(input));
  text::DecodeOptions options;
  options.skip_special = f.skip_special;
  ASSIGN_OR_RETURN(std::string text, tokenizer.Decode(ids, options));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

void SetResult(const char* command, const Status& s, int* exit_code) {
  if (s.ok()) return;
  LOG(ERROR) << command << ": " << s.ToString();
  *exit_code = 1;
}

}  // namespace

void RegisterTokenizeCommands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TokenizeFlags>();
  CLI::App* tokenize =
      app.add_subcommand("tokenize", "Read UTF-8 text on stdin, print its token ids as JSON");
  tokenize->add_option("--model", f->model, "Model folder (tokenizer files suffice)")->required();
  tokenize->add_flag("--no-special", f->no_special,
                     "Encode special-token strings such as <|im_end|> as plain text");
  tokenize->add_flag("--add-special", f->add_special,
                     "Add the tokenizer's special tokens around the text (e.g. BOS)");
  tokenize->add_flag("--chat", f->chat,
                     "stdin is {\"messages\", \"tools\", \"add_generation_prompt\", ...kwargs}: "
                     "render it with the model's chat template");
  tokenize->add_flag("--render-only", f->render_only, "With --chat: print the rendered prompt");
  tokenize->callback([f, exit_code] { SetResult("tokenize", RunTokenize(*f), exit_code); });

  CLI::App* detokenize =
      app.add_subcommand("detokenize", "Read a JSON array of token ids on stdin, print the text");
  detokenize->add_option("--model", f->model, "Model folder (tokenizer files suffice)")->required();
  detokenize->add_flag("--skip-special", f->skip_special, "Leave special tokens out of the text");
  detokenize->callback([f, exit_code] { SetResult("detokenize", RunDetokenize(*f), exit_code); });
}

}  // namespace ts::app
