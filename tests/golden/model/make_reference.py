"""Reference logits for the golden models, from PyTorch transformers.

Run on the device machine (it has torch + transformers; no GPU needed):
    python3 tests/golden/model/make_reference.py MODELS_DIR OUT_DIR
where MODELS_DIR holds the folders written by make_models.sh. For each fixture of
fixtures.json it writes OUT_DIR/<name>.f32.bin: float32 logits [len(prompt)][vocab] from the
model in float32 (bf16/f16 weights upcast exactly; MLX-quantized weights dequantized as
scale * q + bias into a float32 twin), and for bf16 models also OUT_DIR/<name>.bf16.bin from
the model run natively in bfloat16 (what users of transformers see).
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))
spec = json.load(open(os.path.join(here, "fixtures.json")))
models_dir, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
prompt = torch.tensor([spec["prompt"]], dtype=torch.long)


def dequantized_twin(src, dst, bits, group_size):
    """A float32 folder equal to the MLX-quantized one: w = scales * q + biases."""
    os.makedirs(dst, exist_ok=True)
    tensors = {}
    for f in sorted(os.listdir(src)):
        if f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(src, f)))
    out = {}
    per_word = 32 // bits
    for name, t in tensors.items():
        if name.endswith(".scales") or name.endswith(".biases"):
            continue
        module = name[: -len(".weight")] if name.endswith(".weight") else None
        if module is not None and module + ".scales" in tensors:
            words = t.to(torch.int64) & 0xFFFFFFFF
            shifts = torch.arange(per_word, dtype=torch.int64) * bits
            q = (words.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
            q = q.reshape(words.shape[0], -1).to(torch.float32)
            scales = tensors[module + ".scales"].to(torch.float32)
            biases = tensors[module + ".biases"].to(torch.float32)
            s = scales.repeat_interleave(group_size, dim=1)
            b = biases.repeat_interleave(group_size, dim=1)
            out[name] = (s * q + b).contiguous()
        else:
            out[name] = t.to(torch.float32).contiguous()
    save_file(out, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg.pop("quantization", None)
    cfg.pop("quantization_config", None)
    cfg["torch_dtype"] = "float32"
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"))
    shutil.copy(os.path.join(src, "generation_config.json"), dst)


def logits_of(path, dtype):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        return model(prompt).logits[0].to(torch.float32).numpy()


for f in spec["fixtures"]:
    name = f["name"]
    path = os.path.join(models_dir, name)
    cfg = json.load(open(os.path.join(path, "config.json")))
    q = cfg.get("quantization")
    f32_path = path
    if q:
        f32_path = os.path.join("/tmp/twins", name)
        dequantized_twin(path, f32_path, q["bits"], q["group_size"])
    ref = logits_of(f32_path, torch.float32)
    ref.astype(np.float32).tofile(os.path.join(out_dir, f"{name}.f32.bin"))
    line = f"{name}: f32 logits {ref.shape}, std {ref.std():.3f}"
    if cfg.get("torch_dtype") == "bfloat16" and not q:
        native = logits_of(path, torch.bfloat16)
        native.astype(np.float32).tofile(os.path.join(out_dir, f"{name}.bf16.bin"))
        line += f", bf16 max |diff| {np.abs(native - ref).max():.4f}"
    print(line, flush=True)
