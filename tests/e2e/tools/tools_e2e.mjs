// Tool calling and structured outputs with the official openai npm client against
// `tierserve serve` on a tiny random Qwen3 (real tokenizer and chat template).
// Usage: node tools_e2e.mjs TIERSERVE_BINARY WORK_DIR
// A random model writes nonsense, so the checks are about shape: constrained output always
// parses and matches its schema (the SDK's parse helpers accept it), forced calls name an
// allowed function with valid arguments, streamed tool calls reassemble, errors name the field.
import assert from 'node:assert/strict';
import path from 'node:path';
import OpenAI from 'openai';
import { ensureTinyModel, startTinyServer } from '../tiny_server.mjs';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

const [binary, workDir] = process.argv.slice(2);
const modelDir = path.join(workDir, 'tools-tiny-qwen3');

ensureTinyModel(binary, modelDir);
const startServer = () => startTinyServer(binary, modelDir);

// Enums, bounded integers and booleans only: a random model cannot wander off in a free
// string, so every answer completes well within max_tokens.
const weather = {
  type: 'object',
  properties: {
    city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    metric: { type: 'boolean' },
  },
  required: ['city', 'days', 'metric'],
  additionalProperties: false,
};

function checkWeather(v) {
  assert.deepEqual(Object.keys(v), ['city', 'days', 'metric']);
  assert.ok(['Paris', 'Rome', 'Oslo'].includes(v.city));
  assert.ok(Number.isInteger(v.days) && v.days >= 1 && v.days <= 7);
  assert.equal(typeof v.metric, 'boolean');
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Forecast', strict: true,
    parameters: weather } },
  { type: 'function', function: { name: 'get_time', strict: true,
    parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } },
      required: ['zone'], additionalProperties: false } } },
];

const server = await startServer();
const ai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages = [{ role: 'user', content: 'Weather in Paris for three days?' }];
let failed = false;

async function test(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed = true;
    console.log(`not ok - ${name}\n${e.stack}`);
  }
}

await test('json_schema: the SDK parse helper gets a valid object, several seeds', async () => {
  for (let seed = 0; seed < 4; seed++) {
    const r = await ai.chat.completions.parse({ model: 'tiny', messages, seed, temperature: 1.5,
      max_tokens: 300,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', strict: true,
        schema: weather } } });
    assert.equal(r.choices[0].finish_reason, 'stop');
    checkWeather(r.choices[0].message.parsed);
  }
});

await test('zod: zodResponseFormat and zodFunction parse and validate, several seeds', async () => {
  const Forecast = z.object({
    city: z.string().min(1).max(24),
    unit: z.enum(['celsius', 'fahrenheit']),
    days: z.array(z.object({ day: z.number().int().min(1).max(7), high: z.number() })).max(3),
    note: z.string().max(40).nullable(),
  });
  for (let seed = 0; seed < 3; seed++) {
    const r = await ai.chat.completions.parse({ model: 'tiny', messages, seed, temperature: 1.5,
      max_tokens: 400, response_format: zodResponseFormat(Forecast, 'forecast') });
    assert.equal(r.choices[0].finish_reason, 'stop');
    // The SDK has already run Forecast.parse on the content; check it again for the record.
    assert.ok(Forecast.safeParse(r.choices[0].message.parsed).success);
  }
  const GetWeather = z.object({ city: z.string().max(24), days: z.number().int().min(1).max(7) });
  const r = await ai.chat.completions.parse({ model: 'tiny', messages, seed: 4, temperature: 1.5,
    max_tokens: 200, tools: [zodFunction({ name: 'get_weather', parameters: GetWeather })],
    tool_choice: 'required' });
  const calls = r.choices[0].message.tool_calls;
  assert.ok(calls.length >= 1);
  for (const call of calls) {
    assert.equal(call.function.name, 'get_weather');
    assert.ok(GetWeather.safeParse(call.function.parsed_arguments).success);
  }
});

await test('json_schema streaming: the deltas join into a valid object', async () => {
  const stream = await ai.chat.completions.create({ model: 'tiny', messages, stream: true,
    temperature: 1.5, seed: 9, max_tokens: 300,
    response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: weather } } });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'stop');
  checkWeather(JSON.parse(text));
});

await test('json_schema with minLength/maxLength: strings of an allowed length', async () => {
  const schema = { type: 'object', properties: {
    code: { type: 'string', minLength: 2, maxLength: 4 },
    note: { type: 'string', minLength: 3, maxLength: 12 } },
  required: ['code', 'note'], additionalProperties: false };
  for (let seed = 0; seed < 3; seed++) {
    const r = await ai.chat.completions.create({ model: 'tiny', messages, seed, temperature: 1.5,
      max_tokens: 300, response_format: { type: 'json_schema', json_schema: { name: 'c', schema } } });
    assert.equal(r.choices[0].finish_reason, 'stop');
    const v = JSON.parse(r.choices[0].message.content);
    const length = (s) => [...s].length;  // code points, as JSON Schema counts
    assert.ok(length(v.code) >= 2 && length(v.code) <= 4, v.code);
    assert.ok(length(v.note) >= 3 && length(v.note) <= 12, v.note);
  }
});

await test('json_object: an object (or a prefix of one when cut at max_tokens)', async () => {
  const r = await ai.chat.completions.create({ model: 'tiny', messages, max_tokens: 400,
    temperature: 1.0, seed: 3, response_format: { type: 'json_object' } });
  const text = r.choices[0].message.content;
  assert.ok(text.startsWith('{'), text);
  if (r.choices[0].finish_reason === 'stop') assert.equal(typeof JSON.parse(text), 'object');
});

function checkCall(call) {
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_/);
  assert.ok(['get_weather', 'get_time'].includes(call.function.name));
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === 'get_weather') checkWeather(args);
  else assert.ok(['UTC', 'CET'].includes(args.zone));
  assert.deepEqual(call.function.parsed_arguments, args);
}

await test('tool_choice required: calls to allowed tools with valid arguments', async () => {
  const r = await ai.chat.completions.parse({ model: 'tiny', messages, tools,
    tool_choice: 'required', temperature: 1.5, seed: 1, max_tokens: 600 });
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.ok(c.message.tool_calls.length >= 1);
  assert.equal(new Set(c.message.tool_calls.map((call) => call.id)).size,
    c.message.tool_calls.length, 'call ids are distinct');
  c.message.tool_calls.forEach(checkCall);
});

await test('tool_choice required: one or more calls, exactly one with parallel_tool_calls false',
  async () => {
    let most = 0;
    for (let seed = 0; seed < 8; seed++) {
      for (const parallel of [undefined, false]) {
        const r = await ai.chat.completions.parse({ model: 'tiny', messages, tools, seed,
          tool_choice: 'required', temperature: 1.5, max_tokens: 600,
          ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }) });
        const c = r.choices[0];
        assert.equal(c.finish_reason, 'tool_calls');
        if (parallel === false) assert.equal(c.message.tool_calls.length, 1);
        c.message.tool_calls.forEach(checkCall);
        if (parallel === undefined) most = Math.max(most, c.message.tool_calls.length);
      }
    }
    assert.ok(most > 1, 'some seed makes several calls');
  });

await test('named tool_choice streaming: name first, then the arguments', async () => {
  const stream = await ai.chat.completions.create({ model: 'tiny', messages, tools, stream: true,
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, seed: 2,
    max_tokens: 300 });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta;
    for (const t of d?.tool_calls ?? []) {
      if (!calls[t.index]) {
        assert.ok(t.id && t.function.name, 'the first delta of a call carries id and name');
        calls[t.index] = { name: t.function.name, args: '' };
      }
      calls[t.index].args += t.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'get_weather');
  checkWeather(JSON.parse(calls[0].args));
});

await test('a conversation with tool calls and results renders and runs', async () => {
  const r = await ai.chat.completions.create({ model: 'tiny', max_tokens: 5, tools,
    messages: [...messages,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 3, "metric": true}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"high": 21}' }] });
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));
});

await test('unsupported schema features and bad tools are 400s naming the field', async () => {
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages,
    response_format: { type: 'json_schema', json_schema: { name: 'x',
      schema: { type: 'string', not: {} } } } }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format' &&
    /"not"/.test(e.message));
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages,
    response_format: { type: 'json_schema', json_schema: { name: 'x',
      schema: { type: 'string', minLength: 5, maxLength: 2 } } } }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format' &&
    /maxLength 2 is below minLength 5/.test(e.message));
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages, tool_choice: 'required',
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', allOf: [] } } }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools' && /allOf/.test(e.message));
  await assert.rejects(ai.chat.completions.create({ model: 'tiny', messages, tools,
    tool_choice: { type: 'function', function: { name: 'nope' } } }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tool_choice');
});

server.kill('SIGTERM');
process.exit(failed ? 1 : 0);
