import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dockerdAvailable, startDockerd } from './dockerd.js';

const skip = dockerdAvailable() && existsSync('/sys/class/net') ? false : 'needs root and dockerd';
const testhost = fileURLToPath(new URL('./testhost.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a test process killed with SIGKILL: its engine stops with it, and the next engine start removes its bridges and folder', {
  skip,
  timeout: 120_000,
}, async () => {
  // A test process that starts an engine on a bridge of its own, makes a network on it, says
  // what it made, and waits to be killed.
  const script = `
    import { startHostEngine } from ${JSON.stringify(testhost)};
    const e = await startHostEngine({ dockerdArgs: ['--default-address-pool', 'base=10.124.0.0/24,size=26'] });
    const id = (await e.docker(['network', 'create', 'left'])).trim();
    console.log(JSON.stringify({ dir: e.dockerd.dir, pid: e.dockerd.pid, bridges: [e.bridge, 'br-' + id.slice(0, 12)] }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await until('the test process made its engine and network', () => out.includes('\n'), 60_000);
  const made = JSON.parse(out) as { dir: string; pid: number; bridges: string[] };
  for (const b of made.bridges) assert.ok(existsSync(`/sys/class/net/${b}`), `${b} exists`);
  // The engine's own network is recorded as the engine reports it made (its events).
  const recorded = () => readFileSync(join(made.dir, 'bridges'), 'utf8').split('\n').filter(Boolean);
  await until('both bridges recorded', () => recorded().length === 2, 10_000);
  assert.deepEqual(recorded(), made.bridges);

  child.kill('SIGKILL');
  await until('the engine ends with its test process', () => !alive(made.pid), 30_000);
  // What SIGKILL leaves: no handler ran, the bridges are still there.
  for (const b of made.bridges) assert.ok(existsSync(`/sys/class/net/${b}`), `${b} still exists`);

  const next = await startDockerd({ apiOnly: true });
  try {
    for (const b of made.bridges) assert.equal(existsSync(`/sys/class/net/${b}`), false, `${b} removed`);
    assert.equal(existsSync(made.dir), false);
  } finally {
    await next.stop();
  }
});
