import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage, MachineError } from '../../errors.js';
import { writeSeed } from '../qemu/seed.js';

/** The legacy path's two ISOs: the boot ISO the user names, and the machine's NoCloud seed. */

/** A local path as it is; an http(s) URL downloaded into the machine's folder. */
export async function bootISO(
  given: string,
  machineDir: string,
  ctx: { log(line: string): void },
): Promise<string> {
  if (!/^https?:\/\//.test(given)) return given;
  const dest = join(machineDir, 'boot.iso');
  ctx.log(`Downloading ${given}...`);
  try {
    const res = await fetch(given);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(`${dest}.part`));
    await rename(`${dest}.part`, dest);
  } catch (err) {
    await rm(`${dest}.part`, { force: true });
    throw new MachineError(
      `could not download the boot ISO ${given} (--vmwarevsphere-boot2docker-url): ${errorMessage(err)}`,
    );
  }
  return dest;
}

export async function seedISO(
  machineDir: string,
  o: { hostname: string; user: string; publicKey: string; instanceId: string },
): Promise<string> {
  return writeSeed(machineDir, o);
}
