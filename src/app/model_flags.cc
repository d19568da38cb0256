#include "app/commands.h"

namespace ts::app {

void AddModelOptionFlags(CLI::App* cmd, ModelOptions* options) {
  cmd->add_flag("--batch-invariant", options->batch_invariant,
                "cuda: outputs independent of what shares the batch (fixed-order kernels; slower)");
  cmd->add_flag("--int8-activations", options->int8_activations,
                "cpu, quantized models, AVX512-VNNI: round activations to int8 instead of int16 "
                "(faster prefill; llama.cpp's precision, ~1e-2 of the logits' range)");
  cmd->add_flag("--bf16-activations", options->bf16_activations,
                "cpu, bf16 weights, AVX512-BF16: round activations to bf16, as PyTorch does "
                "(about twice the prefill speed; ~1e-2 of the logits' range)");
}

}  // namespace ts::app
