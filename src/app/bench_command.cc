// `tierserve bench`: the serving load generator (issue 7). Sends a workload to any
// OpenAI-compatible server, streams every response and reports TTFT, TPOT, ITL, end-to-end latency,
// throughput, goodput and the server's cached_tokens. The logic lives in ts_loadgen (app/bench/);
// this file is flags, the restart pause and output.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/bench/http_client.h"
#include "app/bench/report.h"
#include "app/bench/runner.h"
#include "app/commands.h"
#include "base/log.h"

namespace ts::app {
namespace {

struct BenchFlags {
  std::string url;
  std::string model;
  std::string api_key;
  std::string endpoint = "completions";
  std::string workload = "random";
  std::string concurrency = "8";
  double request_rate = 0;
  int32_t num_requests = 32;
  double duration_s = 0;
  uint64_t seed = 0;
  std::string input_len = "256";
  std::string output_len = "64";
  std::string prefix_len = "1024";
  int32_t num_groups = 4;
  int32_t num_turns = 4;
  std::string prompt_format = "ids";
  std::string token_id_range = "1000:30000";
  bool no_ignore_eos = false;
  bool min_tokens = false;
  double slo_ttft_ms = 0;
  double slo_tpot_ms = 0;
  double slo_e2e_ms = 0;
  std::string json;
  std::string restart_command;
  double timeout_s = 600;
  bool no_progress = false;
};

Result<std::vector<int32_t>> ParseList(const std::string& text) {
  std::vector<int32_t> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    ASSIGN_OR_RETURN(const loadgen::LengthRange v, loadgen::ParseLengthRange(item));
    if (v.min != v.max || v.min < 1) return InvalidArgument("bad --concurrency '" + text + "'");
    values.push_back(v.min);
  }
  if (values.empty()) return InvalidArgument("empty --concurrency");
  return values;
}

Result<std::string> FirstModelId(loadgen::HttpClient& client) {
  ASSIGN_OR_RETURN(const std::string body, client.Get("/v1/models"));
  const nlohmann::json models = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (models.is_object() && models.contains("data") && models["data"].is_array() &&
      !models["data"].empty() && models["data"][0].contains("id") &&
      models["data"][0]["id"].is_string()) {
    return models["data"][0]["id"].get<std::string>();
  }
  return InvalidArgument("GET /v1/models listed no model; pass --model");
}

// Waits until GET /health answers `up` (true: 2xx; false: anything else or no answer).
Status WaitForHealth(loadgen::HttpClient& client, bool up, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (client.Get("/health").ok() == up) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Unavailable(up ? "the server did not come back" : "the server did not go down");
}

// Between the restart workload's phases: runs --restart-command, or waits for the operator to
// restart the server by hand; either way returns once the server answers again.
Status RestartPause(const BenchFlags& f) {
  loadgen::HttpClient client(f.url, f.api_key, /*timeout_s=*/5);
  if (!f.restart_command.empty()) {
    LOG(INFO) << "restart: running " << f.restart_command;
    if (std::system(f.restart_command.c_str()) != 0) {
      return Internal("--restart-command failed: " + f.restart_command);
    }
  } else {
    std::fprintf(stderr, "restart the server now; waiting for it to go down and come back\n");
    RETURN_IF_ERROR(WaitForHealth(client, /*up=*/false, f.timeout_s));
  }
  return WaitForHealth(client, /*up=*/true, f.timeout_s);
}

Status Run(const BenchFlags& f) {
  loadgen::WorkloadOptions w;
  ASSIGN_OR_RETURN(w.kind, loadgen::ParseWorkloadKind(f.workload));
  ASSIGN_OR_RETURN(w.input, loadgen::ParseLengthRange(f.input_len));
  ASSIGN_OR_RETURN(w.output, loadgen::ParseLengthRange(f.output_len));
  ASSIGN_OR_RETURN(w.prefix, loadgen::ParseLengthRange(f.prefix_len));
  ASSIGN_OR_RETURN(w.unit_range, loadgen::ParseLengthRange(f.token_id_range));
  w.num_requests = f.num_requests;
  w.num_groups = f.num_groups;
  w.num_turns = f.num_turns;
  if (f.endpoint != "completions" && f.endpoint != "chat") {
    return InvalidArgument("--endpoint must be completions or chat");
  }
  if (f.prompt_format != "ids" && f.prompt_format != "text") {
    return InvalidArgument("--prompt-format must be ids or text");
  }
  w.text = f.endpoint == "chat" || f.prompt_format == "text";
  RETURN_IF_ERROR(w.Validate());
  ASSIGN_OR_RETURN(const std::vector<int32_t> levels, ParseList(f.concurrency));

  loadgen::RunOptions o;
  o.url = f.url;
  o.api_key = f.api_key;
  o.chat = f.endpoint == "chat";
  o.text = w.text;
  o.request_rate = f.request_rate;
  o.max_duration_s = f.duration_s;
  o.ignore_eos = !f.no_ignore_eos;
  o.min_tokens = f.min_tokens;
  o.timeout_s = f.timeout_s;
  o.seed = f.seed;
  o.show_progress = !f.no_progress && isatty(STDERR_FILENO);
  o.model = f.model;
  if (o.model.empty()) {
    loadgen::HttpClient client(f.url, f.api_key, /*timeout_s=*/10);
    ASSIGN_OR_RETURN(o.model, FirstModelId(client));
  }
  loadgen::Slo slo;
  if (f.slo_ttft_ms > 0) slo.ttft_s = f.slo_ttft_ms / 1e3;
  if (f.slo_tpot_ms > 0) slo.tpot_s = f.slo_tpot_ms / 1e3;
  if (f.slo_e2e_ms > 0) slo.e2e_s = f.slo_e2e_ms / 1e3;

  nlohmann::json report = {{"url", f.url},
                           {"model", o.model},
                           {"workload", f.workload},
                           {"endpoint", f.endpoint},
                           {"prompt_format", w.text ? "text" : "ids"},
                           {"input_len", f.input_len},
                           {"output_len", f.output_len},
                           {"prefix_len", f.prefix_len},
                           {"num_groups", f.num_groups},
                           {"num_turns", f.num_turns},
                           {"num_requests", f.num_requests},
                           {"request_rate", f.request_rate},
                           {"seed", f.seed},
                           {"runs", nlohmann::json::array()}};
  for (size_t level = 0; level < levels.size(); ++level) {
    // Each level gets its own prompts, so a level never hits the cache a previous one filled.
    w.seed = f.seed + 1000003 * level;
    o.concurrency = levels[level];
    const std::vector<std::vector<loadgen::Session>> phases = loadgen::BuildWorkload(w);
    for (size_t phase = 0; phase < phases.size(); ++phase) {
      if (phase > 0) RETURN_IF_ERROR(RestartPause(f));
      const loadgen::PhaseOutcome outcome = loadgen::RunPhase(o, phases[phase]);
      const loadgen::RunMetrics m =
          loadgen::ComputeMetrics(outcome.results, outcome.duration_s, slo);
      std::string title = f.workload + ", concurrency " + std::to_string(o.concurrency);
      if (o.request_rate > 0) title += ", " + std::to_string(o.request_rate) + " req/s";
      if (phases.size() > 1) title += phase == 0 ? ", before restart" : ", after restart";
      loadgen::PrintTable(stdout, title, m, slo);
      for (const loadgen::RequestResult& r : outcome.results) {
        if (!r.ok) {
          std::printf("  first failure: %s\n", r.error.c_str());
          break;
        }
      }
      // Each level's table as soon as it is done, also when stdout is a pipe (| tee).
      std::fflush(stdout);
      report["runs"].push_back({{"concurrency", o.concurrency},
                                {"phase", phase},
                                {"metrics", loadgen::MetricsToJson(m)},
                                {"requests", loadgen::RequestsToJson(outcome.results)}});
    }
  }
  if (!f.json.empty()) {
    std::ofstream out(f.json);
    out << report.dump(2) << "\n";
    if (!out) return IoError("cannot write " + f.json);
  }
  return Status::Ok();
}

}  // namespace

void RegisterBenchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Load-test an OpenAI-compatible server: TTFT, TPOT, ITL, latency, throughput, goodput");
  cmd->add_option("--url", flags->url, "Server base URL, e.g. http://127.0.0.1:8080")->required();
  cmd->add_option("--model", flags->model,
                  "Model name to request (default: the first of /v1/models)");
  cmd->add_option("--api-key", flags->api_key, "Bearer token (also from $TIERSERVE_API_KEY)")
      ->envname("TIERSERVE_API_KEY");
  cmd->add_option("--endpoint", flags->endpoint, "completions or chat")->capture_default_str();
  cmd->add_option("--workload", flags->workload,
                  "random | shared-prefix | multi-turn | restart | unique")
      ->capture_default_str();
  cmd->add_option("--concurrency", flags->concurrency,
                  "Requests in flight at most; a list (1,2,4,8) runs one level after another")
      ->capture_default_str();
  cmd->add_option("--request-rate", flags->request_rate,
                  "Poisson arrivals at this many sessions/s (0: as fast as --concurrency allows)")
      ->capture_default_str();
  cmd->add_option("--num-requests", flags->num_requests,
                  "Requests per level (conversations for multi-turn)")
      ->capture_default_str();
  cmd->add_option("--duration", flags->duration_s,
                  "Start no request after this many seconds (0: none)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Prompts, lengths and arrivals derive from it")
      ->capture_default_str();
  cmd->add_option("--input-len", flags->input_len,
                  "Prompt tokens (N or MIN:MAX); shared-prefix: the question after the prefix; "
                  "multi-turn: each new user message")
      ->capture_default_str();
  cmd->add_option("--output-len", flags->output_len, "Output tokens (N or MIN:MAX)")
      ->capture_default_str();
  cmd->add_option("--prefix-len", flags->prefix_len, "shared-prefix: tokens of each group's prefix")
      ->capture_default_str();
  cmd->add_option("--num-groups", flags->num_groups, "shared-prefix: distinct prefixes")
      ->capture_default_str();
  cmd->add_option("--num-turns", flags->num_turns, "multi-turn: turns per conversation")
      ->capture_default_str();
  cmd->add_option("--prompt-format", flags->prompt_format,
                  "ids (exact lengths) or text (common words, about one token each); chat is text")
      ->capture_default_str();
  cmd->add_option("--token-id-range", flags->token_id_range,
                  "ids: prompt token ids drawn from MIN:MAX")
      ->capture_default_str();
  cmd->add_flag("--no-ignore-eos", flags->no_ignore_eos,
                "Let EOS end a response early (default: ignore_eos, exact output lengths)");
  cmd->add_flag("--min-tokens", flags->min_tokens, "Also send min_tokens = max_tokens");
  cmd->add_option("--slo-ttft-ms", flags->slo_ttft_ms, "Goodput: TTFT bound in ms");
  cmd->add_option("--slo-tpot-ms", flags->slo_tpot_ms, "Goodput: TPOT bound in ms");
  cmd->add_option("--slo-e2e-ms", flags->slo_e2e_ms, "Goodput: end-to-end bound in ms");
  cmd->add_option("--json", flags->json, "Write the results (and every request) as JSON here");
  cmd->add_option(
      "--restart-command", flags->restart_command,
      "restart: shell command that restarts the server (default: wait for a manual one)");
  cmd->add_option("--timeout", flags->timeout_s, "Seconds one request (or a restart) may take")
      ->capture_default_str();
  cmd->add_flag("--no-progress", flags->no_progress, "No progress bar even on a terminal");
  cmd->callback([flags, exit_code] {
    const Status status = Run(*flags);
    if (!status.ok()) {
      LOG(ERROR) << "bench: " << status.ToString();
      *exit_code = 1;
    }
  });
}

}  // namespace ts::app
