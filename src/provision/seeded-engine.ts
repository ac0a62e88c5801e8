import { createHash } from 'node:crypto';
import type { SeededEngine } from '../drivers/engine-seed.js';
import type { ProvisionContext } from './context.js';

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
