import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REMOTE_CERT_DIR, systemdDropIn } from '../provision/daemon-options.js';
import type { EngineSeedRequest, SeededEngine } from '../provision/seeded-engine.js';
import { makeServerCert } from '../provision/steps.js';
import { DROP_IN } from '../provision/systemd-family.js';
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
  const o = m.config.HostOptions;
  if (o.EngineOptions.EngineVersion) return undefined;
  await makeServerCert(m.config, m.name, req.ip, req.certSANs);
  const auth = o.AuthOptions;
  const [ca, cert, key] = await Promise.all(
    [auth.CaCertPath, auth.ServerCertPath, auth.ServerKeyPath].map((p) => readFile(p, 'utf8')),
  );
  const dropIn = systemdDropIn({
    dockerd: req.dockerd,
    port: req.port,
    socketActivated: req.socketActivated,
    driverName: m.config.DriverName,
    engine: o.EngineOptions,
    swarm: o.SwarmOptions.IsSwarm,
  });
  const s: SeededEngine = {
    files: [
      { path: join(REMOTE_CERT_DIR, 'ca.pem'), mode: '644', content: ca },
      { path: join(REMOTE_CERT_DIR, 'server.pem'), mode: '644', content: cert },
      { path: join(REMOTE_CERT_DIR, 'server-key.pem'), mode: '600', content: key },
      { path: DROP_IN, mode: '644', content: dropIn },
    ],
  };
  seeded.set(m, s);
  return s;
}

/** The seeded files, once: only the provisioning right after the create may keep them. */
export function takeSeededEngine(m: Machine): SeededEngine | undefined {
  const s = seeded.get(m);
  seeded.delete(m);
  return s;
}
