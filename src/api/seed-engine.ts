import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineSeedRequest, SeededEngine } from '../drivers/engine-seed.js';
import { REMOTE_CERT_DIR } from '../provision/daemon-options.js';
import { machineCertFiles, makeServerCert } from '../provision/steps.js';
import { DROP_IN, machineDropIn } from '../provision/systemd-daemon.js';
import type { Machine } from './machine.js';

// What each machine of this process was seeded with, for the provisioning that follows its create.
const seeded = new WeakMap<Machine, SeededEngine>();

/**
 * The engine files for a driver to put on the machine before it first boots: a new server
 * certificate for the names the driver gives, the CA, and the daemon drop-in, as provisioning
 * would install them. None when the machine pins an engine version: provisioning may have to
 * install another engine first, and the seeded one would start for nothing.
 */
export async function seedEngine(m: Machine, req: EngineSeedRequest): Promise<SeededEngine | undefined> {
  const e = m.config.HostOptions.EngineOptions;
  // An SSH-only engine has no certificate to seed; provisioning writes its drop-in.
  if (e.EngineVersion || e.EngineEndpoint === 'ssh') return undefined;
  await makeServerCert(m.config, m.name, req.ip, req.certSANs);
  const certs = await Promise.all(
    machineCertFiles(m.config).map(async (f) => ({
      path: join(REMOTE_CERT_DIR, f.name),
      // The mode a file gets under the umask certificateSteps writes it with.
      mode: (0o666 & ~Number.parseInt(f.umask, 8)).toString(8),
      content: await readFile(f.local, 'utf8'),
    })),
  );
  const dropIn = machineDropIn(m.config, {
    dockerd: req.dockerd,
    port: req.port,
    socketActivated: req.socketActivated,
  });
  const s: SeededEngine = { files: [...certs, { path: DROP_IN, mode: '644', content: dropIn }] };
  seeded.set(m, s);
  return s;
}

/** Whether the machine was seeded (its provisioning will likely only check the files). */
export function hasSeededEngine(m: Machine): boolean {
  return seeded.has(m);
}

/** The seeded files, once: only the provisioning right after the create may keep them. */
export function takeSeededEngine(m: Machine): SeededEngine | undefined {
  const s = seeded.get(m);
  seeded.delete(m);
  return s;
}
