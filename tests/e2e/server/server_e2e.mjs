// End-to-end tests of `tierserve serve` with the official openai npm client and raw HTTP.
// Usage: node server_e2e.mjs TIERSERVE_BINARY WORK_DIR
// Creates a tiny random Qwen3 model (real tokenizer) in WORK_DIR once, starts servers on free
// ports, and checks the API as a client sees it. Exits non-zero on the first failure.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import { checkRunner, ensureTinyModel, startTinyServer } from '../tiny_server.mjs';

const [binary, workDir] = process.argv.slice(2);
const modelDir = path.join(workDir, 'e2e-tiny-qwen3');

const ensureModel = () => ensureTinyModel(binary, modelDir);
const startServer = (extraArgs = []) => startTinyServer(binary, modelDir, extraArgs);

function client(server, apiKey = 'unused') {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
}

async function post(server, route, body, headers = {}) {
  const res = await fetch(server.url + route, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* SSE or empty */ }
  return { status: res.status, json, text };
}

async function getJson(server, route) {
  const res = await fetch(server.url + route);
  return { status: res.status, json: await res.json() };
}

async function cacheUsedBlocks(server) {
  return (await getJson(server, '/v1/cache/stats')).json.ram.used_blocks;
}

async function waitFor(predicate, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

// Reads an SSE response whole; returns the parsed data events and whether [DONE] came last.
function parseSse(text) {
  const events = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice(6);
    if (data === '[DONE]') { done = true; continue; }
    assert.equal(done, false, 'data after [DONE]');
    events.push(JSON.parse(data));
  }
  return { events, done };
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const chatMessages = [{ role: 'user', content: 'Tell me about the sea.' }];

test('models and health', async (s, ai) => {
  const models = await ai.models.list();
  assert.equal(models.data[0].id, 'tiny');
  assert.equal((await getJson(s, '/health')).status, 200);
});

test('chat: non-streaming, usage, seed determinism', async (s, ai) => {
  const req = { model: 'tiny', messages: chatMessages, max_tokens: 12, seed: 7, temperature: 1 };
  const a = await ai.chat.completions.create(req);
  const b = await ai.chat.completions.create(req);
  assert.equal(a.object, 'chat.completion');
  assert.equal(a.choices[0].message.role, 'assistant');
  assert.equal(typeof a.choices[0].message.content, 'string');
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.usage.completion_tokens, 12);
  assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + 12);
  assert.equal(a.choices[0].finish_reason, 'length');
});

test('chat: streamed deltas equal the non-streamed content', async (s, ai) => {
  const req = { model: 'tiny', messages: chatMessages, max_tokens: 16, seed: 11 };
  const whole = await ai.chat.completions.create(req);
  const stream = await ai.chat.completions.create({ ...req, stream: true,
    stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  let role = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      text += c.delta.content ?? '';
      finish ??= c.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 16);
});

test('completions: prompt forms, streaming equals whole, echo and logprobs', async (s, ai) => {
  const req = { model: 'tiny', prompt: 'Once upon a time', max_tokens: 10, seed: 3 };
  const whole = await ai.completions.create(req);
  assert.equal(whole.object, 'text_completion');
  let text = '';
  for await (const chunk of await ai.completions.create({ ...req, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, whole.choices[0].text);
  const ids = await ai.completions.create({ model: 'tiny', prompt: [[9454, 5193, 264, 882]],
    max_tokens: 3 });
  assert.equal(ids.usage.prompt_tokens, 4);
  const batch = await ai.completions.create({ model: 'tiny', prompt: ['a', 'b'], max_tokens: 2,
    n: 2 });
  assert.equal(batch.choices.length, 4);
  const echo = await ai.completions.create({ ...req, echo: true, logprobs: 2 });
  assert.ok(echo.choices[0].text.startsWith('Once upon a time'));
  const lp = echo.choices[0].logprobs;
  assert.equal(lp.tokens.length, echo.usage.prompt_tokens + 10);
  assert.equal(lp.token_logprobs[0], null);
  assert.ok(lp.token_logprobs.slice(1).every((x) => typeof x === 'number' && x <= 0));
});

test('chat logprobs and n', async (s, ai) => {
  const r = await ai.chat.completions.create({ model: 'tiny', messages: chatMessages,
    max_tokens: 5, n: 3, logprobs: true, top_logprobs: 2, seed: 5 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  for (const c of r.choices) {
    assert.equal(c.logprobs.content.length, 5);
    for (const t of c.logprobs.content) {
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.logprob <= 0);
    }
  }
  assert.equal(r.usage.completion_tokens, 15);
});

test('stop strings end the output before the match', async (s, ai) => {
  const req = { model: 'tiny', messages: chatMessages, max_tokens: 24, seed: 21 };
  const full = (await ai.chat.completions.create(req)).choices[0].message.content;
  const stop = [...full].slice(6, 8).join('');
  const r = await ai.chat.completions.create({ ...req, stop: [stop] });
  assert.equal(r.choices[0].message.content, full.slice(0, full.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const empty = await ai.chat.completions.create({ ...req, max_tokens: 2, stop: [] });
  assert.equal(empty.choices[0].finish_reason, 'length');
});

test('usage reports cached prompt tokens on a repeated prompt', async (s, ai) => {
  const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  const req = { model: 'tiny', messages: [{ role: 'user', content: long }], max_tokens: 2 };
  await ai.chat.completions.create(req);
  const again = await ai.chat.completions.create(req);
  assert.ok(again.usage.prompt_tokens_details.cached_tokens >= 16,
    JSON.stringify(again.usage));
});

test('special-token text in content stays plain text', async (s) => {
  const r = await post(s, '/tokenize', { messages: [{ role: 'user', content: 'x<|im_end|>y' }] });
  assert.equal(r.status, 200);
  const imEnd = 151645;
  assert.equal(r.json.tokens.filter((t) => t === imEnd).length, 1);  // the template's own
  const d = await post(s, '/detokenize', { tokens: r.json.tokens });
  assert.ok(d.json.prompt.includes('x<|im_end|>y'));
});

test('errors surface as the SDK error classes', async (s, ai) => {
  await assert.rejects(ai.chat.completions.create({ model: 'nope', messages: chatMessages }),
    OpenAI.NotFoundError);
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages: chatMessages,
    n: 1e9 }), (e) => e instanceof OpenAI.BadRequestError && e.param === 'n');
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages: chatMessages,
    tools: [{ type: 'function', function: { name: 'bad name' } }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools[0].function.name');
});

test('bad-input battery: the right 4xx, server fine afterwards', async (s) => {
  const m = chatMessages;
  const cases = [
    ['/v1/chat/completions', '{"messages": [', 400],
    ['/v1/chat/completions', 'not json', 400],
    ['/v1/chat/completions', '[]', 400],
    ['/v1/chat/completions', { messages: 'hi' }, 400],
    ['/v1/chat/completions', { messages: [] }, 400],
    ['/v1/chat/completions', { messages: [{ role: 'user' }] }, 400],
    ['/v1/chat/completions', { messages: [{ role: 7, content: 'x' }] }, 400],
    ['/v1/chat/completions', { messages: m, max_tokens: 'ten' }, 400],
    ['/v1/chat/completions', { messages: m, max_tokens: -1 }, 400],
    ['/v1/chat/completions', { messages: m, max_tokens: 1e30 }, 400],
    ['/v1/chat/completions', { messages: m, max_tokens: 99999999999 }, 400],
    ['/v1/chat/completions', { messages: m, temperature: -3 }, 400],
    ['/v1/chat/completions', { messages: m, temperature: 'hot' }, 400],
    ['/v1/chat/completions', '{"messages": [{"role":"user","content":"x"}], "temperature": NaN}', 400],
    ['/v1/chat/completions', '{"messages": [{"role":"user","content":"x"}], "top_p": Infinity}', 400],
    ['/v1/chat/completions', { messages: m, stream: 'yes' }, 400],
    ['/v1/chat/completions', { messages: m, n: 1e9 }, 400],
    ['/v1/chat/completions', { messages: m, logprobs: true, top_logprobs: 1e6 }, 400],
    ['/v1/chat/completions', { messages: m, stop: Array(1000).fill('x') }, 400],
    ['/v1/chat/completions', { messages: m, stop: ['x'.repeat(5000)] }, 400],
    ['/v1/chat/completions', { messages: m, stop_token_ids: [10000000] }, 400],
    ['/v1/chat/completions', { messages: m, logit_bias: { 99999999: 5 } }, 400],
    ['/v1/chat/completions', { messages: m, response_format: { type: 'json_schema',
      json_schema: { name: 'x', schema: { not: { type: 'string' } } } } }, 400],
    ['/v1/chat/completions', { messages: m, max_tokens: 100000 }, 400],
    ['/v1/chat/completions', { model: 'gpt-4', messages: m }, 404],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }, 400],
    ['/v1/completions', { prompt: [-1] }, 400],
    ['/v1/completions', { prompt: [1e12] }, 400],
    ['/v1/completions', { prompt: 'word '.repeat(3000) }, 400],
    ['/v1/completions', { prompt: [] }, 400],
    ['/v1/completions', { prompt: 'x', logprobs: 1e6 }, 400],
    ['/v1/completions', '['.repeat(100000), 400],
    ['/detokenize', { tokens: [1e9] }, 400],
    ['/nope', {}, 404],
  ];
  for (const [route, body, want] of cases) {
    const r = await post(s, route, body);
    assert.equal(r.status, want, `${route} ${String(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 80)} -> ${r.status} ${r.text.slice(0, 200)}`);
    assert.ok(r.json?.error?.message, `error body for ${route}: ${r.text.slice(0, 100)}`);
  }
  // Invalid UTF-8 bytes on the wire (a JS string cannot carry them).
  const bad = Buffer.concat([Buffer.from('{"prompt": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: bad,
    headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 400);
  const big = await fetch(`${s.url}/v1/completions`, { method: 'POST',
    body: Buffer.alloc(50 << 20, 0x20), headers: { 'Content-Type': 'application/json' } });
  assert.equal(big.status, 413);
  const header = await fetch(`${s.url}/health`, { headers: { 'X-Big': 'a'.repeat(20000) } })
    .then((x) => x.status, () => 'closed');
  assert.ok(header === 400 || header === 'closed', `20 KB header -> ${header}`);
  assert.equal((await getJson(s, '/health')).status, 200);
});

test('client disconnects free every block (prefill and streaming)', async (s) => {
  const during = async (prompt, afterChunks) => {
    const ctrl = new AbortController();
    const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', signal: ctrl.signal,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: 1500, ignore_eos: true, stream: true }) });
    const reader = res.body.getReader();
    for (let i = 0; i < afterChunks; ++i) await reader.read();
    if (afterChunks > 0) assert.ok((await cacheUsedBlocks(s)) > 0);
    ctrl.abort();
    await waitFor(async () => (await cacheUsedBlocks(s)) === 0, 5000, 'blocks freed');
  };
  await during('word '.repeat(400), 3);
  await during('word '.repeat(1900), 0);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(metrics, /tierserve_http_client_disconnects_total [1-9]/);
});

test('256 concurrent streams complete', async (s, ai) => {
  const one = async (i) => {
    const stream = await ai.completions.create({ model: 'tiny', prompt: `request ${i}`,
      max_tokens: 4, ignore_eos: true, stream: true });
    let finish = null;
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    assert.equal(finish, 'length');
    return text;
  };
  const t0 = Date.now();
  const texts = await Promise.all(Array.from({ length: 256 }, (_, i) => one(i)));
  assert.equal(texts.length, 256);
  console.log(`    256 streams in ${Date.now() - t0} ms`);
});

async function authTests() {
  const s = await startServer(['--api-key', 'sekret']);
  try {
    const bad = client(s, 'wrong');
    await assert.rejects(bad.models.list(), OpenAI.AuthenticationError);
    await assert.rejects(client(s, 'sekre').models.list(), OpenAI.AuthenticationError);
    assert.equal((await client(s, 'sekret').models.list()).data[0].id, 'tiny');
    assert.equal((await fetch(`${s.url}/v1/cache/stats`)).status, 401);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  } finally {
    s.kill('SIGKILL');
  }
}

async function sigtermTest() {
  const s = await startServer(['--shutdown-timeout', '1']);
  const exited = new Promise((r) => s.on('exit', (code) => r(code)));
  // Four streams, each in flight (its first bytes received) before SIGTERM: a fixed sleep is
  // not enough on a loaded machine, where a request may not have reached the server yet.
  let started = 0;
  let allStarted;
  const allStartedP = new Promise((r) => { allStarted = r; });
  const streams = Array.from({ length: 4 }, async (_, i) => {
    const r = await fetch(`${s.url}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: `story ${i}`, max_tokens: 1900, ignore_eos: true, stream: true }),
    });
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let signalled = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (!signalled) {
        signalled = true;
        if (++started === 4) allStarted();
      }
    }
    return text;
  });
  await allStartedP;
  s.kill('SIGTERM');
  for (const text of await Promise.all(streams)) {
    const { events, done } = parseSse(text);
    assert.ok(done, 'stream ends with [DONE]');
    assert.ok(events.some((e) => e.choices?.[0]?.finish_reason), 'a finish_reason was sent');
  }
  assert.equal(await exited, 0, s.log());
}

async function main() {
  ensureModel();
  const s = await startServer();
  const ai = client(s);
  const { run, finish } = checkRunner();
  for (const t of tests) await run(t.name, () => t.fn(s, ai));
  s.kill('SIGKILL');
  await run('api key: 401 as AuthenticationError, /health open', authTests);
  await run('SIGTERM during streaming: well-formed ends, exit 0', sigtermTest);
  finish();
}

await main();
