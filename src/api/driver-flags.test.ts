import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MachineAPI } from './index.js';

let dir: string;
let api: MachineAPI;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-driver-flags-'));
  api = new MachineAPI({ storePath: dir, env: {} });
});
after(() => rm(dir, { recursive: true, force: true }));

test('driverFlags takes values as the command line does: an integer flag from a number or its string', async () => {
  for (const v of [10, '10']) {
    const f = await api.driverFlags('amazonec2', { 'amazonec2-retries': v });
    assert.equal(f.values.get('amazonec2-retries'), 10);
    assert.ok(f.explicit.has('amazonec2-retries'));
  }
  const b = await api.driverFlags('amazonec2', { 'amazonec2-use-private-address': 'true' });
  assert.equal(b.values.get('amazonec2-use-private-address'), true);
  const s = await api.driverFlags('amazonec2', { 'amazonec2-tags': 'a,b' });
  assert.deepEqual(s.values.get('amazonec2-tags'), 'a,b');
  // Not given: the default.
  assert.equal((await api.driverFlags('amazonec2')).values.get('amazonec2-retries'), 5);
});

test('driverFlags refuses, in one line naming the flag, a value of another kind and a name that is no flag', async () => {
  const refused = async (driver: string, values: Record<string, never>, message: RegExp) =>
    assert.rejects(api.driverFlags(driver, values), (err: Error) => {
      assert.match(err.message, message);
      assert.equal(err.message.split('\n').length, 1);
      return true;
    });
  await refused(
    'amazonec2',
    { 'amazonec2-retries': 'ten' as never },
    /^amazonec2: flag --amazonec2-retries takes an integer, not "ten"$/,
  );
  await refused('amazonec2', { 'amazonec2-retries': 1.5 as never }, /takes an integer, not 1\.5/);
  await refused(
    'amazonec2',
    { 'amazonec2-retris': 1 as never },
    /^amazonec2: no driver flag --amazonec2-retris; see 'docker-machine create -d amazonec2 --help'$/,
  );
  await refused('none', { url: 5 as never }, /^none: flag --url takes a string, not 5$/);
  await refused('amazonec2', { 'amazonec2-use-private-address': 'maybe' as never }, /takes true or false/);
});
