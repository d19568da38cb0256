// tierserve: one binary, one subcommand per job (DESIGN.md, "Command line").
#include <CLI/CLI.hpp>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tierserve: an OpenAI-compatible LLM inference server with a tiered prefix KV cache"};
  app.require_subcommand(1);
  int exit_code = 0;
  ts::app::RegisterGenModelCommand(app, &exit_code);
  ts::app::RegisterGenerateCommand(app, &exit_code);
  ts::app::RegisterQuantizeCommand(app, &exit_code);
  ts::app::RegisterBenchEngineCommand(app, &exit_code);
  ts::app::RegisterTokenizeCommands(app, &exit_code);
  ts::app::RegisterServeCommand(app, &exit_code);
  ts::app::RegisterBenchCommand(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
