import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
} from './testhost.js';

/**
 * What the generic-driver suites share: a scratch folder with the key the hosts authorise, an
 * engine of the test's own, and Debian hosts on it, each with one extra published port for its
 * Docker engine. `stop` removes exactly what this started.
 */
export interface HostRig {
  work: string;
  /** The private key every host of the rig authorises. */
  key: string;
  publicLine: string;
  engine: HostEngine;
  hosts: TestHost[];
  stop(): Promise<void>;
}

export async function startHostRig(opts: {
  prefix: string;
  withDocker: boolean;
  count?: number;
  /** For suites that reboot their hosts. */
  restartAlways?: boolean;
}): Promise<HostRig> {
  const work = await mkdtemp(join(tmpdir(), `dm-${opts.prefix}-`));
  const key = join(work, 'id_rsa');
  let engine: HostEngine | undefined;
  const hosts: TestHost[] = [];
  const stop = async () => {
    for (const h of hosts) await h.stop();
    await engine?.stop();
    await rm(work, { recursive: true, force: true });
  };
  try {
    const { publicLine } = await generateSSHKeyPair(key);
    const tarball = await hostRootfs({ withDocker: opts.withDocker }, (l) => process.stderr.write(`${l}\n`));
    engine = await startHostEngine();
    const tag = opts.withDocker ? 'dm-testhost:docker' : 'dm-testhost:plain';
    const image = await importHostImage(engine, tarball, tag);
    const hostOpts = { authorizedKey: publicLine, extraPorts: 1, restartAlways: opts.restartAlways };
    const started = await Promise.all(
      Array.from({ length: opts.count ?? 1 }, () => startTestHost(engine!, image, hostOpts)),
    );
    hosts.push(...started);
    return { work, key, publicLine, engine, hosts, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `create -d generic` of a machine on a rig host: its SSH port, the key, its engine port. */
export function genericCreateArgs(host: TestHost, key: string, name: string, extra: string[] = []): string[] {
  return [
    'create',
    '-d',
    'generic',
    '--generic-ip-address',
    '127.0.0.1',
    '--generic-ssh-port',
    String(host.sshPort),
    '--generic-ssh-key',
    key,
    '--generic-engine-port',
    String(host.ports[0]),
    ...extra,
    name,
  ];
}
