// Writes the tokenizer parity fixtures: for each of the five reference tokenizers, the token ids
// that @lenml/tokenizers 3.7.2 (a port of the Hugging Face tokenizers used by transformers.js)
// produces for corpus.json plus deterministic random strings, with and without special tokens,
// and decoded text (with and without skip_special_tokens) for the encoded ids and for random id
// sequences. Run from the repository root:  node tests/golden/text/make_golden.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const corpus = JSON.parse(fs.readFileSync(path.join(here, "corpus.json"), "utf8"));

// mulberry32: a small deterministic PRNG so the fixtures are reproducible.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pools of characters the random strings mix. Code points assigned after Unicode 14 (PCRE2
// 10.42's tables) are left out on purpose: Node's tables are newer (see the test's notes).
const pools = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  "     \t\n\n\r",
  ".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`",
  "éàüñçøåßÉÀÜ",
  "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
  "中文字符漢字日本語かなカナ한국어",
  "\u0301\u0300\u0308\u0303\u200d\ufe0f",
  "😀👍🏽🇫🇷❤✨🔥👨👩👧",
  "\u00a0\u3000\u2028\u0085\ufeff\u200b",
  "\ue000\uf8ff\u0378\u05ff",
  "▁",
];
const fragments = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<bos>",
  "<|begin_of_text|>", "<think>", "'s", "'LL", "\n\n", "    ", "<0x41>",
  "<｜end▁of▁sentence｜>", "<end_of_turn>", "ab", "the", " the"];

function randomStrings(count, seed) {
  const next = rng(seed);
  const out = [];
  for (let i = 0; i < count; ++i) {
    const len = Math.floor(next() * 40);
    let s = "";
    for (let k = 0; k < len; ++k) {
      if (next() < 0.1) {
        s += fragments[Math.floor(next() * fragments.length)];
      } else {
        const pool = [...pools[Math.floor(next() * pools.length)]];
        s += pool[Math.floor(next() * pool.length)];
      }
    }
    out.push(s);
  }
  return out;
}

// Long runs: the merge loop on big words, and the cutting of SentencePiece sections.
function longStrings() {
  const next = rng(99);
  let word = "";
  for (let i = 0; i < 1000; ++i) word += String.fromCharCode(97 + Math.floor(next() * 26));
  const prose = corpus.slice(1, 12).join(" ");
  return ["a".repeat(1000), " ".repeat(1000), "7".repeat(1000), "\n".repeat(1000),
    " \n".repeat(500), word, prose, "> </".repeat(200), "▁".repeat(300) + "x"];
}

const names = ["qwen3", "llama3_1", "llama2", "gemma3", "deepseek_v3"];
const texts = [...corpus, ...randomStrings(60, 20240601), ...longStrings()];

for (const name of names) {
  const dir = path.join(root, "node_modules/@lenml", `tokenizer-${name}`, "models");
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
  const encode = texts.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const ids_special = tokenizer.encode(text, { add_special_tokens: true });
    const c = { text, ids, ids_special };
    if (ids_special.length > 0) {
      c.decoded = tokenizer.decode(ids_special);
      c.decoded_skip = tokenizer.decode(ids_special, { skip_special_tokens: true });
    }
    return c;
  });
  // Random id sequences: exercises byte-level and byte-fallback repair of broken UTF-8.
  const next = rng(7);
  const vocabSize = tokenizer.model.vocab.length;
  const decode = [];
  for (let i = 0; i < 30; ++i) {
    const ids = [];
    const len = 1 + Math.floor(next() * 12);
    for (let k = 0; k < len; ++k) {
      let id = Math.floor(next() * vocabSize);
      if (next() < 0.5) id = Math.floor(next() * 600);  // low ids: bytes and specials
      if (tokenizer.model.vocab[id] === undefined) continue;
      ids.push(id);
    }
    if (ids.length === 0) continue;
    decode.push({
      ids,
      decoded: tokenizer.decode(ids),
      decoded_skip: tokenizer.decode(ids, { skip_special_tokens: true }),
    });
  }
  const out = path.join(here, `${name}.json`);
  fs.writeFileSync(out, JSON.stringify({ tokenizer: name, encode, decode }) + "\n");
  console.log(`${out}: ${encode.length} texts, ${decode.length} id sequences`);
}
