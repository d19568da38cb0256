// End-to-end tests of `tierserve serve --tensor-parallel 2` (issue 10) with the official openai
// npm client: the server starts its own ranks with mpirun, answers exactly as one rank does,
// reuses cached prefixes (RAM, and SSD after a restart), fails a request cleanly and ends when
// a rank dies, and shuts down cleanly on SIGTERM.
// Usage: node tensor_parallel_e2e.mjs TIERSERVE_BINARY WORK_DIR
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { checkRunner, ensureTinyModel, startTinyServer } from '../tiny_server.mjs';

const [binary, workDir] = process.argv.slice(2);
const modelDir = path.join(workDir, 'e2e-tiny-qwen3');
const split = ['--tensor-parallel', '2'];

const client = (server) =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });

const exited = (server) => new Promise((resolve) => {
  if (server.exitCode_ !== undefined) resolve(server.exitCode_);
  else server.on('exit', (code) => resolve(code));
});

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const conversations = [
  [{ role: 'user', content: 'Tell me about the sea.' }],
  [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name three rivers.' }],
  [{ role: 'user', content: 'Count: one two three four five six seven eight nine ten '.repeat(8) }],
];

const ask = (ai, messages, extra = {}) => ai.chat.completions.create({
  model: 'tiny', messages, max_tokens: 24, temperature: 0, ...extra,
});

async function sameAnswersAsOneRank(one, two) {
  for (const messages of conversations) {
    const [a, b] = await Promise.all([ask(client(one), messages), ask(client(two), messages)]);
    assert.equal(b.choices[0].message.content, a.choices[0].message.content);
    assert.equal(b.choices[0].finish_reason, a.choices[0].finish_reason);
    assert.equal(b.usage.completion_tokens, a.usage.completion_tokens);
  }
  // Concurrent requests batch together on the split server; each answer stays the same.
  const alone = [];
  for (const messages of conversations) alone.push(await ask(client(one), messages));
  const together = await Promise.all(conversations.map((m) => ask(client(two), m)));
  together.forEach((r, i) =>
    assert.equal(r.choices[0].message.content, alone[i].choices[0].message.content));
  // Streaming gives the same text.
  const stream = await ask(client(two), conversations[0], { stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, alone[0].choices[0].message.content);
}

async function prefixHits(two) {
  const messages = conversations[2];
  await ask(client(two), messages);
  const again = await ask(client(two), messages);
  assert.ok(again.usage.prompt_tokens_details.cached_tokens >= 16,
    JSON.stringify(again.usage));
}

async function deadRankEndsTheServer() {
  const s = await startTinyServer(binary, modelDir, split);
  const m = s.log().match(/rank 1 of 2 \(pid (\d+)\)/);
  assert.ok(m, s.log());
  const stream = await ask(client(s), conversations[0],
    { stream: true, max_tokens: 2000, ignore_eos: true });
  // The rank dies while the stream runs: at its first chunk.
  const reading = (async () => {
    let chunks = 0;
    for await (const chunk of stream) {
      if (chunks++ === 0) process.kill(Number(m[1]), 'SIGKILL');
      void chunk;
    }
  })();
  await assert.rejects(withTimeout(reading, 15_000, 'the stream to fail'), (e) => {
    assert.match(String(e.message), /tensor-parallel rank 1 \(pid \d+\) has exited/);
    return true;
  });
  const code = await withTimeout(exited(s), 15_000, 'the server to exit');
  assert.notEqual(code, 0, s.log());
  assert.match(s.log(), /tensor-parallel rank 1 \(pid \d+\) has exited/);
}

// SIGTERM ends both ranks cleanly (exit 0), each having written its shard of the prompt's
// blocks to the SSD tier; after a restart they come back from there.
async function sigtermAndSsdRestart() {
  const ssd = ['--ssd-cache-dir', path.join(workDir, `tp-ssd-${process.pid}`)];
  rmSync(ssd[1], { recursive: true, force: true });
  const s = await startTinyServer(binary, modelDir, [...split, ...ssd]);
  const first = await ask(client(s), conversations[2]);
  s.kill('SIGTERM');
  assert.equal(await withTimeout(exited(s), 30_000, 'the server to exit'), 0, s.log());
  assert.match(s.log(), /shut down cleanly/);
  const again = await startTinyServer(binary, modelDir, [...split, ...ssd]);
  const second = await ask(client(again), conversations[2]);
  assert.equal(second.choices[0].message.content, first.choices[0].message.content);
  assert.ok(second.usage.prompt_tokens_details.cached_tokens_ssd >= 16,
    JSON.stringify(second.usage));
  again.kill('SIGTERM');
  assert.equal(await withTimeout(exited(again), 30_000, 'the server to exit'), 0, again.log());
}

async function main() {
  ensureTinyModel(binary, modelDir);
  const { run, finish } = checkRunner();
  const one = await startTinyServer(binary, modelDir);
  const two = await startTinyServer(binary, modelDir, split);
  await run('two ranks answer as one: plain, batched, streamed', () => sameAnswersAsOneRank(one, two));
  await run('two ranks: a resent prompt comes from the prefix cache', () => prefixHits(two));
  one.kill('SIGKILL');
  two.kill('SIGTERM');
  await exited(two);
  await run('a killed rank: the stream fails with a clear error, the server exits', deadRankEndsTheServer);
  await run('SIGTERM: two ranks shut down cleanly; their SSD tiers serve a restart',
    sigtermAndSsdRestart);
  finish();
}

await main();
