import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiContext } from '../../src/api/context.js';
import { prepareCreate } from '../../src/api/create.js';
import { MachineAPI } from '../../src/api/index.js';
import { saveMachine } from '../../src/api/machine.js';
import type { FlagValue } from '../../src/flags/def.js';
import { Store } from '../../src/store/store.js';
import { type CliStore, cleanEnv } from './cli.js';

/** A cloud fake that records every body it sends and receives, to check against the provider's API description. */
export interface CheckedFake {
  validate(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The end of each test of a cloud fake's suite: the fake stopped, the test's store removed, and
 * every body the fake saw matching `description` (checked first: stopping drops the record).
 */
export async function endFakeTest(
  fake: CheckedFake | undefined,
  store: CliStore | undefined,
  description: string,
): Promise<void> {
  const problems = fake ? await fake.validate() : [];
  await fake?.stop();
  await store?.cleanup();
  assert.deepEqual(problems, [], `every body matches ${description}`);
}

/**
 * A fleet's creates in this process, all at once, on the store at `storeDir`: each machine's
 * driver steps (checks, key, server, the wait for it, its address) and its config.json, as
 * `create` does them before provisioning over SSH, which the test-host suites cover. `flags` are
 * the driver's flag values by name. Returns how long the fleet took, in ms.
 */
export async function createFleet(
  storeDir: string,
  driver: string,
  flags: Record<string, FlagValue>,
  names: string[],
  o: { preCreateCheck?: boolean } = {},
): Promise<number> {
  const ctx: ApiContext = { store: new Store(storeDir), certs: {}, events: () => {}, env: cleanEnv() };
  const driverFlags = await new MachineAPI({ storePath: storeDir, env: cleanEnv() }).driverFlags(
    driver,
    flags,
  );
  const started = Date.now();
  await Promise.all(
    names.map(async (name) => {
      const p = await prepareCreate(ctx, { name, driver, driverFlags }, { checkDockerHost: false });
      await ctx.store.claim(name);
      await saveMachine(ctx.store, p.machine);
      if (o.preCreateCheck) await p.machine.driver.preCreateCheck(p.dctx);
      await p.machine.driver.create(p.dctx);
      await saveMachine(ctx.store, p.machine);
    }),
  );
  return Date.now() - started;
}

/** The Driver section of a machine's config.json. */
// biome-ignore lint/suspicious/noExplicitAny: each test reads the driver fields it checks
export async function savedDriver(storeDir: string, name: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(storeDir, 'machines', name, 'config.json'), 'utf8')).Driver;
}
