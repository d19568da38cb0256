#!/usr/bin/env node
// The llama.cpp peer: drives node-llama-cpp's CPU build (llama.cpp inside Node) through the
// measurements tierserve is compared on, with the settings PEERS.md's figures were taken with
// (2 threads, batch 512, temperature 0, random token ids as prompts):
//   prefill       one prompt of --prefill tokens, tokens/s
//   decode        one sequence, --decode tokens after a short prompt, tokens/s
//   parallel      N sequences decoding together (--parallel 1,4,8), aggregate tokens/s
//   prefix        TTFT of a --prefix-token prefix + --question tokens, cold, then with the prefix's
//                 KV kept in the sequence (what a prefix cache gives a server)
//   serve         --serve-requests requests of --serve-input + --serve-output tokens, --serve-concurrency
//                 at a time (one sequence each): the serving workload in-process, no HTTP
//   shared        --shared-requests requests of a --shared-prefix-token prefix (one of --shared-groups)
//                 + a distinct --shared-question, --shared-concurrency at a time: cold (every sequence
//                 cleared before its request), then reused (a free sequence that holds the request's
//                 prefix keeps it and evaluates only the question, as llama-server's slots do; the
//                 groups' prefixes evaluated into the sequences first)
// Usage: node bench/peer/llama_bench.mjs --model FILE.gguf [--only prefill,decode,...] [--json OUT]
import {getLlama} from "node-llama-cpp";
import fs from "node:fs";
import {parseArgs} from "node:util";

const {values: args} = parseArgs({
  options: {
    model: {type: "string"},
    only: {type: "string", default: "prefill,decode,parallel,prefix,serve"},
    threads: {type: "string", default: "2"},
    prefill: {type: "string", default: "512"},
    decode: {type: "string", default: "64"},
    parallel: {type: "string", default: "1,4,8"},
    "parallel-prompt": {type: "string", default: "32"},
    prefix: {type: "string", default: "1024"},
    question: {type: "string", default: "32"},
    "serve-requests": {type: "string", default: "32"},
    "serve-input": {type: "string", default: "256"},
    "serve-output": {type: "string", default: "64"},
    "serve-concurrency": {type: "string", default: "8"},
    "shared-groups": {type: "string", default: "4"},
    "shared-prefix": {type: "string", default: "1024"},
    "shared-question": {type: "string", default: "64"},
    "shared-output": {type: "string", default: "16"},
    "shared-requests": {type: "string", default: "16"},
    "shared-concurrency": {type: "string", default: "4"},
    seed: {type: "string", default: "1"},
    json: {type: "string"},
  },
});
if (!args.model) {
  console.error("usage: llama_bench.mjs --model FILE.gguf [--only prefill,decode,parallel,prefix,serve,shared] [--json OUT]");
  process.exit(2);
}
const threads = Number(args.threads);
const only = new Set(args.only.split(","));

// Deterministic random token ids in [1000, 30000), as `tierserve bench` sends by default.
let state = BigInt(args.seed) || 1n;
function randomTokens(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    out.push(1000 + Number((state >> 33n) % 29000n));
  }
  return out;
}
const now = () => performance.now() / 1000;

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const llama = await getLlama({gpu: false, build: "never", maxThreads: threads});
const model = await llama.loadModel({modelPath: args.model});
const results = {model: args.model, threads, llama_cpp: llama.llamaCppRelease, figures: {}};
const log = (name, text) => console.log(`${name.padEnd(10)} ${text}`);

async function makeContext(contextSize, sequences = 1) {
  return model.createContext({contextSize, sequences, threads: {ideal: threads, min: threads}, batchSize: 512});
}

// Generates n tokens after `tokens`; returns [time of the first token, time of the last].
async function generate(sequence, tokens, n) {
  let first = 0;
  let count = 0;
  for await (const _ of sequence.evaluate(tokens, {temperature: 0})) {
    if (++count === 1) first = now();
    if (count >= n) break;
  }
  return [first, now()];
}

if (only.has("prefill")) {
  const n = Number(args.prefill);
  const context = await makeContext(Math.max(1024, n + 16));
  const sequence = context.getSequence();
  await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(16));  // warm-up
  await sequence.clearHistory();
  const t0 = now();
  await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(n));
  const tps = n / (now() - t0);
  results.figures.prefill = {tokens: n, tokens_per_s: tps};
  log("prefill", `${n} tokens: ${tps.toFixed(1)} tokens/s`);
  await context.dispose();
}

if (only.has("decode")) {
  const n = Number(args.decode);
  const context = await makeContext(1024);
  const sequence = context.getSequence();
  const [first, last] = await generate(sequence, randomTokens(16), n + 1);
  const tps = n / (last - first);
  results.figures.decode = {tokens: n, tokens_per_s: tps};
  log("decode", `${n} tokens: ${tps.toFixed(1)} tokens/s`);
  await context.dispose();
}

if (only.has("parallel")) {
  results.figures.parallel = [];
  const n = Number(args.decode);
  const promptTokens = Number(args["parallel-prompt"]);
  for (const streams of args.parallel.split(",").map(Number)) {
    const context = await makeContext(Math.max(256, promptTokens + n + 16), streams);
    const sequences = Array.from({length: streams}, () => context.getSequence());
    await Promise.all(sequences.map((s) => s.evaluateWithoutGeneratingNewTokens(randomTokens(promptTokens))));
    const t0 = now();
    await Promise.all(sequences.map((s) => generate(s, randomTokens(1), n)));
    const tps = (streams * n) / (now() - t0);
    results.figures.parallel.push({streams, tokens_per_stream: n, aggregate_tokens_per_s: tps});
    log("parallel", `${streams} sequences x ${n} tokens: ${tps.toFixed(1)} tokens/s aggregate`);
    await context.dispose();
  }
}

if (only.has("prefix")) {
  const p = Number(args.prefix);
  const q = Number(args.question);
  const context = await makeContext(p + 2 * q + 16);
  const sequence = context.getSequence();
  const prefix = randomTokens(p);
  let t0 = now();
  let [first] = await generate(sequence, [...prefix, ...randomTokens(q)], 1);
  const cold = first - t0;
  // Keep the prefix's KV, drop the first question and its answer: what a prefix-cache hit leaves.
  await sequence.eraseContextTokenRanges([{start: p, end: sequence.nextTokenIndex}]);
  t0 = now();
  [first] = await generate(sequence, randomTokens(q), 1);
  const warm = first - t0;
  results.figures.prefix = {prefix_tokens: p, question_tokens: q, ttft_cold_s: cold, ttft_cached_s: warm};
  log("prefix", `${p}+${q} tokens: TTFT cold ${cold.toFixed(3)} s, prefix cached ${warm.toFixed(3)} s ` +
      `(${((100 * warm) / cold).toFixed(1)}%)`);
  await context.dispose();
}

// Runs `requests` ({tokens, output, group, prefix}) `concurrency` at a time, one sequence each.
// `slots` are the context's sequences, each with the group whose prefix it holds (-1: none); a
// request takes a free slot holding its group's prefix if there is one (then only the tokens after
// the prefix are evaluated), else any free slot, cleared. Without `reuse` every slot is cleared.
async function runRequests(slots, requests, reuse) {
  const free = [...slots];
  let next = 0;
  const ttft = [];
  const e2e = [];
  let hits = 0;
  const t0 = now();
  await Promise.all(slots.map(async () => {
    while (next < requests.length) {
      const r = requests[next++];
      let i = reuse ? free.findIndex((slot) => slot.group === r.group) : -1;
      const hit = i >= 0;
      if (!hit) i = 0;
      const [slot] = free.splice(i, 1);
      const start = now();
      if (hit) {
        hits++;
        await slot.sequence.eraseContextTokenRanges([{start: r.prefix, end: slot.sequence.nextTokenIndex}]);
      } else {
        await slot.sequence.clearHistory();
      }
      const [first, last] = await generate(slot.sequence, hit ? r.tokens.slice(r.prefix) : r.tokens, r.output);
      ttft.push(first - start);
      e2e.push(last - start);
      slot.group = reuse ? r.group : -1;
      free.push(slot);
    }
  }));
  const duration = now() - t0;
  const output = requests.reduce((sum, r) => sum + r.output, 0);
  return {
    requests: requests.length, prefix_hits: hits, duration_s: duration, output_tokens_per_s: output / duration,
    ttft_mean_s: ttft.reduce((a, b) => a + b, 0) / ttft.length, ttft_p50_s: percentile(ttft, 50),
    ttft_p90_s: percentile(ttft, 90), e2e_p50_s: percentile(e2e, 50),
  };
}

async function makeSlots(contextSize, concurrency) {
  const context = await makeContext(contextSize, concurrency);
  return [context, Array.from({length: concurrency}, () => ({sequence: context.getSequence(), group: -1}))];
}

if (only.has("serve")) {
  const numRequests = Number(args["serve-requests"]);
  const input = Number(args["serve-input"]);
  const output = Number(args["serve-output"]);
  const concurrency = Number(args["serve-concurrency"]);
  const [context, slots] = await makeSlots(input + output + 16, concurrency);
  const requests = Array.from({length: numRequests}, () => ({tokens: randomTokens(input), output, group: -1, prefix: 0}));
  const figure = {input_tokens: input, output_tokens: output, concurrency, ...await runRequests(slots, requests, false)};
  results.figures.serve = figure;
  log("serve", `${numRequests} x (${input} + ${output}) at concurrency ${concurrency}: ` +
      `${figure.output_tokens_per_s.toFixed(1)} output tokens/s, TTFT p50 ${figure.ttft_p50_s.toFixed(2)} s, ` +
      `p90 ${figure.ttft_p90_s.toFixed(2)} s`);
  await context.dispose();
}

if (only.has("shared")) {
  const groups = Number(args["shared-groups"]);
  const p = Number(args["shared-prefix"]);
  const q = Number(args["shared-question"]);
  const output = Number(args["shared-output"]);
  const concurrency = Number(args["shared-concurrency"]);
  const prefixes = Array.from({length: groups}, () => randomTokens(p));
  const requests = Array.from({length: Number(args["shared-requests"])}, (_, i) =>
    ({tokens: [...prefixes[i % groups], ...randomTokens(q)], output, group: i % groups, prefix: p}));
  const [context, slots] = await makeSlots(p + q + output + 16, concurrency);
  const cold = await runRequests(slots, requests, false);
  // The reused pass starts with the groups' prefixes in the sequences (as many as there are),
  // as tierserve's starts with them in its cache.
  await Promise.all(slots.slice(0, groups).map(async (slot, g) => {
    await slot.sequence.clearHistory();
    await slot.sequence.evaluateWithoutGeneratingNewTokens(prefixes[g]);
    slot.group = g;
  }));
  const reused = await runRequests(slots, requests, true);
  results.figures.shared = {groups, prefix_tokens: p, question_tokens: q, output_tokens: output, concurrency, cold, reused};
  log("shared", `${requests.length} x (${p} shared by ${groups} groups + ${q} + ${output}) at concurrency ${concurrency}: ` +
      `TTFT mean cold ${cold.ttft_mean_s.toFixed(3)} s, prefix reused ${reused.ttft_mean_s.toFixed(3)} s ` +
      `(${((100 * reused.ttft_mean_s) / cold.ttft_mean_s).toFixed(1)}%, ${reused.prefix_hits} hits)`);
  await context.dispose();
}

if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2) + "\n");
await model.dispose();
await llama.dispose();
