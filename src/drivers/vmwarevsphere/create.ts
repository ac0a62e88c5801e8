import { readFile } from 'node:fs/promises';
import { num, str } from '../base.js';
import type { Ledger } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import { createByClone } from './clone.js';
import { createFromISO } from './legacy.js';
import { createFromLibrary } from './library.js';
import type { VSphereMachine } from './machine.js';
import { vmPath } from './placement.js';
import { powerOn } from './power.js';
import { machineExtraConfig } from './userdata.js';
import type { CreateInput } from './vm.js';

/** The VM by its creation type (clone, library item or legacy ISO), recorded, then powered on. */
export async function createVM(m: VSphereMachine, ctx: DriverContext, ledger: Ledger): Promise<void> {
  await m.session(ctx, async (c) => {
    // Its path first: a machine that was never placed stops here, before any file is read.
    const path = vmPath(m);
    const publicKey = (await readFile(`${str(m.json, 'SSHKeyPath')}.pub`, 'utf8')).trim();
    const o: CreateInput = {
      c,
      ledger,
      publicKey,
      extra: await machineExtraConfig(m.json, publicKey),
      path,
      hw: {
        numCPUs: num(m.json, 'CPU') || 2,
        memoryMB: num(m.json, 'Memory') || 2048,
        diskMB: num(m.json, 'DiskSize') || 20480,
      },
    };
    const type = m.creationType;
    const vm =
      type === 'legacy'
        ? await createFromISO(m, ctx, o)
        : type === 'library'
          ? await createFromLibrary(m, ctx, o)
          : await createByClone(m, ctx, o);
    ctx.log(`Powering on ${m.label()}...`);
    await powerOn(c, vm, `powering on ${m.label()}`, ctx.signal);
  });
}
