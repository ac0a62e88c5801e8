import { createHash } from 'node:crypto';
import type { ProvisionContext } from './context.js';

/**
 * An engine whose files went onto the machine before its first boot (the qemu driver puts them on
 * its seed volume), so that it starts at boot with TLS instead of after provisioning: under
 * software emulation an engine start takes 20 s and more. The files are the ones provisioning
 * would install, byte for byte; provisioning then checks that they are there and keeps them.
 */
export interface SeededEngine {
  files: SeededFile[];
}

export interface SeededFile {
  /** Absolute path on the machine. */
  path: string;
  /** Octal, as chmod takes it. */
  mode: string;
  content: string;
}

/** What a driver tells about the engine of its image, so that the seeded drop-in fits it. */
export interface EngineSeedRequest {
  /** The address the driver reports (the server certificate names it) and its extra names. */
  ip: string;
  certSANs: string[];
  /** The port dockerd listens on in the machine. */
  port: number;
  /** Where the image's dockerd is, and whether its docker.socket hands over the unix socket. */
  dockerd: string;
  socketActivated: boolean;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The machine has the seeded files unchanged and the hostname it was given. One command; any
 * difference means the full provisioning runs, which rewrites them.
 */
export async function seededEngineHolds(
  ctx: ProvisionContext,
  seeded: SeededEngine,
  sudo: string,
): Promise<boolean> {
  const paths = seeded.files.map((f) => f.path);
  // The server key is readable by root alone.
  const r = await ctx.ssh.run(`hostname && ${sudo}sha256sum ${paths.join(' ')}`);
  const [host, ...sums] = r.stdout.trim().split('\n');
  if (r.code !== 0 || host !== ctx.name) {
    ctx.debug(`the seeded engine does not hold (hostname ${host}, exit ${r.code}): provisioning it in full`);
    return false;
  }
  const got = new Map(sums.map((l) => [l.slice(66), l.slice(0, 64)]));
  const off = seeded.files.filter((f) => got.get(f.path) !== sha256(f.content)).map((f) => f.path);
  if (off.length > 0) {
    ctx.debug(`seeded files missing or changed on the machine (${off.join(', ')}): provisioning in full`);
    return false;
  }
  return true;
}
