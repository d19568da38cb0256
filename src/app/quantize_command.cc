// `tierserve quantize`: converts a float model folder to MLX affine quantization.
#include "app/commands.h"
#include "base/log.h"
#include "model/model_folder_writer.h"

namespace ts::app {

void RegisterQuantizeCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string model, out;
    int bits = 4, group_size = 64;
    uint64_t shard_mb = 4096;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Convert a bf16/f16/f32 model folder to MLX 4- or 8-bit quantization");
  cmd->add_option("--model", flags->model, "Input model folder")->required();
  cmd->add_option("--bits", flags->bits, "4 or 8")->capture_default_str();
  cmd->add_option("--group-size", flags->group_size, "32, 64 or 128")->capture_default_str();
  cmd->add_option("--out", flags->out, "Output folder")->required();
  cmd->add_option("--shard-size-mb", flags->shard_mb, "Largest safetensors shard, in MiB")
      ->capture_default_str();
  cmd->callback([flags, exit_code] {
    Status s = QuantizeModelFolder(flags->model, flags->out, flags->bits, flags->group_size,
                                   flags->shard_mb << 20);
    if (!s.ok()) {
      LOG(ERROR) << "quantize: " << s.ToString();
      *exit_code = 1;
      return;
    }
    LOG(INFO) << "wrote " << flags->out;
  });
}

}  // namespace ts::app
