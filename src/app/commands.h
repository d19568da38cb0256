// Each tierserve subcommand lives in its own file and registers itself on the CLI11 app.
// A subcommand's callback stores its exit code in *exit_code; main returns it.
#pragma once

#include <CLI/CLI.hpp>

#include "model/model.h"

namespace ts::app {

void RegisterGenModelCommand(CLI::App& app, int* exit_code);
void RegisterGenerateCommand(CLI::App& app, int* exit_code);
void RegisterQuantizeCommand(CLI::App& app, int* exit_code);
void RegisterBenchEngineCommand(CLI::App& app, int* exit_code);
void RegisterTokenizeCommands(CLI::App& app, int* exit_code);
void RegisterServeCommand(CLI::App& app, int* exit_code);
void RegisterBenchCommand(CLI::App& app, int* exit_code);

// The flags of ModelOptions, for every subcommand that loads a model.
void AddModelOptionFlags(CLI::App* cmd, ModelOptions* options);

}  // namespace ts::app
