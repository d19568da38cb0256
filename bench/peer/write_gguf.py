#!/usr/bin/env python3
"""Writes a GGUF file with the shapes of a `tierserve gen-model` folder, for llama.cpp.

Random weights (speed does not depend on their values), the folder's own tokenizer (vocabulary,
merges, special tokens, chat template), and the tensor types asked for: BF16, Q8_0 or Q4_0 for
the matrices and the token embedding, F32 for the norms, as llama.cpp's converter lays them out.
Standard library only (no pip here).

  bench/peer/write_gguf.py --model models/qwen3-0.6b-q8 --type q8_0 --out /tmp/qwen3-0.6b-q8_0.gguf
"""
import argparse
import json
import os
import struct
import sys

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# gguf value types
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9

# ggml tensor types: (id, elements per block, bytes per block)
TYPES = {"f32": (0, 1, 4), "bf16": (30, 1, 2), "q8_0": (8, 32, 34), "q4_0": (2, 32, 18)}
# llama_ftype for general.file_type
FILE_TYPES = {"bf16": 32, "q8_0": 7, "q4_0": 2}

# llama.cpp token types
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


def pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def pack_value(vtype, value):
    if vtype == U32:
        return struct.pack("<I", value)
    if vtype == I32:
        return struct.pack("<i", value)
    if vtype == F32:
        return struct.pack("<f", value)
    if vtype == BOOL:
        return struct.pack("<?", value)
    if vtype == STRING:
        return pack_string(value)
    raise ValueError(vtype)


def pack_kv(key, vtype, value, item_type=None):
    out = pack_string(key) + struct.pack("<I", vtype)
    if vtype != ARRAY:
        return out + pack_value(vtype, value)
    out += struct.pack("<IQ", item_type, len(value))
    if item_type == STRING:
        return out + b"".join(pack_string(v) for v in value)
    fmt = {I32: "<%di", U32: "<%dI", F32: "<%df"}[item_type]
    return out + struct.pack(fmt % len(value), *value)


def random_data(ggml_type, num_elements):
    """Bytes of num_elements random values: small, finite weights (|w| < 0.05)."""
    if ggml_type == "f32":
        return struct.pack("<f", 1.0) * num_elements  # norms: ones
    if ggml_type == "bf16":
        # bf16 = sign | 8 exponent bits | 7 mantissa bits. The high byte fixes the sign (random) and the
        # top 7 exponent bits (0b0111100), the random low byte the last exponent bit and the mantissa:
        # magnitudes in [2^-7, 2^-5).
        hi = os.urandom(num_elements).translate(bytes(0x3C | (b & 0x80) for b in range(256)))
        out = bytearray(2 * num_elements)
        out[0::2] = os.urandom(num_elements)
        out[1::2] = hi
        return bytes(out)
    _, block, block_bytes = TYPES[ggml_type]
    num_blocks = num_elements // block
    out = bytearray(os.urandom(num_blocks * block_bytes))
    # Each block opens with its f16 scale; random quants times 0.0004 stay below 0.05 (q8_0).
    scale = struct.pack("<e", 0.0004 if ggml_type == "q8_0" else 0.006)
    out[0::block_bytes] = scale[0:1] * num_blocks
    out[1::block_bytes] = scale[1:2] * num_blocks
    return bytes(out)


def tensor_plan(config, wtype):
    """(name, ne (innermost first), ggml type) for every tensor, in llama.cpp's names."""
    hidden = config["hidden_size"]
    ffn = config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = config.get("head_dim") or hidden // heads
    vocab = config["vocab_size"]
    qwen3 = config["model_type"] == "qwen3"
    plan = [("token_embd.weight", [hidden, vocab], wtype), ("output_norm.weight", [hidden], "f32")]
    if not config.get("tie_word_embeddings", False):
        plan.append(("output.weight", [hidden, vocab], wtype))
    for i in range(config["num_hidden_layers"]):
        p = "blk.%d." % i
        plan += [
            (p + "attn_norm.weight", [hidden], "f32"),
            (p + "attn_q.weight", [hidden, heads * head_dim], wtype),
            (p + "attn_k.weight", [hidden, kv_heads * head_dim], wtype),
            (p + "attn_v.weight", [hidden, kv_heads * head_dim], wtype),
            (p + "attn_output.weight", [heads * head_dim, hidden], wtype),
            (p + "ffn_norm.weight", [hidden], "f32"),
            (p + "ffn_gate.weight", [hidden, ffn], wtype),
            (p + "ffn_up.weight", [hidden, ffn], wtype),
            (p + "ffn_down.weight", [ffn, hidden], wtype),
        ]
        if qwen3:
            plan += [(p + "attn_q_norm.weight", [head_dim], "f32"),
                     (p + "attn_k_norm.weight", [head_dim], "f32")]
    return plan


def tokenizer_kvs(model_dir, model_type, vocab_size):
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    tok_config = {}
    path = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            tok_config = json.load(f)
    vocab = dict(tok["model"]["vocab"])
    types = {}
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        types[added["id"]] = CONTROL if added.get("special") else USER_DEFINED
    size = max(vocab_size, max(vocab.values()) + 1)
    tokens = ["[PAD%d]" % i for i in range(size)]
    token_types = [UNUSED] * size
    for text, i in vocab.items():
        tokens[i] = text
        token_types[i] = types.get(i, NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]

    def token_id(value):
        if isinstance(value, dict):
            value = value.get("content")
        return vocab.get(value) if value else None

    kvs = [
        pack_kv("tokenizer.ggml.model", STRING, "gpt2"),
        pack_kv("tokenizer.ggml.pre", STRING, "qwen2" if model_type == "qwen3" else "llama-bpe"),
        pack_kv("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
        pack_kv("tokenizer.ggml.token_type", ARRAY, token_types, I32),
        pack_kv("tokenizer.ggml.merges", ARRAY, merges, STRING),
        pack_kv("tokenizer.ggml.add_bos_token", BOOL, False),
    ]
    for key, field in (("eos", "eos_token"), ("bos", "bos_token"), ("padding", "pad_token")):
        tid = token_id(tok_config.get(field))
        if tid is not None:
            kvs.append(pack_kv("tokenizer.ggml.%s_token_id" % key, U32, tid))
    template = tok_config.get("chat_template")
    if isinstance(template, str):
        kvs.append(pack_kv("tokenizer.chat_template", STRING, template))
    return kvs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="gen-model folder (config.json, tokenizer.json)")
    parser.add_argument("--type", required=True, choices=sorted(FILE_TYPES), help="weight type")
    parser.add_argument("--out", required=True, help="GGUF file to write")
    parser.add_argument("--context-length", type=int, default=0, help="default: the config's maximum")
    args = parser.parse_args()

    with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    arch = {"qwen3": "qwen3", "llama": "llama"}.get(config["model_type"])
    if arch is None:
        sys.exit("write_gguf: model_type %s is not supported (qwen3, llama)" % config["model_type"])
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    kvs = [
        pack_kv("general.architecture", STRING, arch),
        pack_kv("general.name", STRING, os.path.basename(os.path.normpath(args.model))),
        pack_kv("general.file_type", U32, FILE_TYPES[args.type]),
        pack_kv("general.alignment", U32, ALIGNMENT),
        pack_kv(arch + ".block_count", U32, config["num_hidden_layers"]),
        pack_kv(arch + ".context_length", U32,
                args.context_length or config.get("max_position_embeddings", 4096)),
        pack_kv(arch + ".embedding_length", U32, config["hidden_size"]),
        pack_kv(arch + ".feed_forward_length", U32, config["intermediate_size"]),
        pack_kv(arch + ".attention.head_count", U32, heads),
        pack_kv(arch + ".attention.head_count_kv", U32, config.get("num_key_value_heads", heads)),
        pack_kv(arch + ".attention.key_length", U32, head_dim),
        pack_kv(arch + ".attention.value_length", U32, head_dim),
        pack_kv(arch + ".rope.dimension_count", U32, head_dim),
        pack_kv(arch + ".rope.freq_base", F32, float(config.get("rope_theta", 10000.0))),
        pack_kv(arch + ".attention.layer_norm_rms_epsilon", F32, float(config.get("rms_norm_eps", 1e-6))),
        pack_kv(arch + ".vocab_size", U32, config["vocab_size"]),
    ] + tokenizer_kvs(args.model, config["model_type"], config["vocab_size"])

    plan = tensor_plan(config, args.type)
    infos = []
    offset = 0
    sizes = []
    for name, ne, ttype in plan:
        type_id, block, block_bytes = TYPES[ttype]
        count = 1
        for n in ne:
            count *= n
        if ne[0] % block:
            sys.exit("write_gguf: %s rows of %d do not split into %s blocks of %d" % (name, ne[0], ttype, block))
        nbytes = count // block * block_bytes
        infos.append(pack_string(name) + struct.pack("<I", len(ne)) +
                     struct.pack("<%dQ" % len(ne), *ne) + struct.pack("<IQ", type_id, offset))
        sizes.append((ttype, count, nbytes))
        offset += (nbytes + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT

    tmp = args.out + ".tmp"
    with open(tmp, "wb") as out:
        out.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(plan), len(kvs)))
        for kv in kvs:
            out.write(kv)
        for info in infos:
            out.write(info)
        out.write(b"\0" * (-out.tell() % ALIGNMENT))
        for ttype, count, nbytes in sizes:
            data = random_data(ttype, count)
            assert len(data) == nbytes
            out.write(data)
            out.write(b"\0" * (-nbytes % ALIGNMENT))
    os.replace(tmp, args.out)
    print("write_gguf: %s (%s, %d tensors, %.2f GB)" % (args.out, args.type, len(plan), offset / 1e9))


if __name__ == "__main__":
    main()
