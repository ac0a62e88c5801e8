import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SeededEngine } from '../drivers/engine-seed.js';
import type { SSHClient } from '../ssh/client.js';
import type { HostConfig } from '../store/host.js';
import type { ProvisionContext } from './context.js';
import { seededEngineHolds } from './seeded-engine.js';

/** The check's command runs in this computer's own shell, as it would in the machine's. */
function localContext(name: string, debug: string[]): ProvisionContext {
  const ssh: SSHClient = {
    run: (command) =>
      new Promise((resolve) => {
        execFile('sh', ['-c', command], (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      }),
    attach: () => Promise.reject(new Error('not used')),
    close: async () => {},
  };
  return {
    name,
    config: {} as HostConfig,
    driverName: 'qemu',
    ip: '127.0.0.1',
    enginePort: 2376,
    certSANs: [],
    ssh,
    info: () => {},
    debug: (l) => debug.push(l),
    waitForEngine: async () => {},
  };
}

test('the seeded files hold when each is there unchanged and the hostname is the machine name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-seeded-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seeded: SeededEngine = {
    files: [
      { path: join(dir, 'server.pem'), mode: '644', content: 'CERT\n' },
      { path: join(dir, '10-machine.conf'), mode: '644', content: '[Service]\nExecStart=\n' },
    ],
  };
  for (const f of seeded.files) await writeFile(f.path, f.content);
  const debug: string[] = [];
  assert.equal(await seededEngineHolds(localContext(hostname(), debug), seeded, ''), true);

  // Another hostname: the seed did not apply.
  assert.equal(await seededEngineHolds(localContext(`${hostname()}-other`, debug), seeded, ''), false);
  assert.match(debug.at(-1) ?? '', /hostname/);

  // A changed file, then a missing one: named in the debug line.
  await writeFile(seeded.files[1].path, '[Service]\n');
  assert.equal(await seededEngineHolds(localContext(hostname(), debug), seeded, ''), false);
  assert.match(debug.at(-1) ?? '', /10-machine\.conf/);
  await rm(seeded.files[0].path);
  assert.equal(await seededEngineHolds(localContext(hostname(), debug), seeded, ''), false);
  assert.match(debug.at(-1) ?? '', /exit 1|server\.pem/);
});
