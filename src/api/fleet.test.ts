import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProgressEvent } from './events.js';
import { type CreateRequest, MachineAPI, MachineError } from './index.js';

// Fleets of `none` machines: no engine is needed (their URL is a closed loopback port, which
// create reports as a warning), so this exercises the fleet's own logic: checks before anything
// is made, per-machine events, results in order.
describe('createMany', () => {
  let dir: string;
  let events: ProgressEvent[];
  let api: MachineAPI;
  const none = async (name: string, url = 'tcp://127.0.0.1:1'): Promise<CreateRequest> => ({
    name,
    driver: 'none',
    driverFlags: await api.driverFlags('none', url === '' ? {} : { url }),
  });
  const machines = async () =>
    (await readdir(join(dir, 'machines')).catch(() => [])).filter((n) => !n.startsWith('.'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-fleet-'));
    api = new MachineAPI({
      storePath: dir,
      events: (e) => events.push(e),
      env: { DOCKER_CONFIG: join(dir, 'docker-config') },
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('creates every machine, in the order given; every event of a machine carries its name', async () => {
    events = [];
    const r = await api.createMany({ machines: await Promise.all(['c', 'a', 'b'].map((n) => none(n))) });
    assert.deepEqual(
      r.created.map((m) => m.name),
      ['c', 'a', 'b'],
    );
    assert.deepEqual(r.failed, []);
    assert.deepEqual((await machines()).sort(), ['a', 'b', 'c']);
    assert.deepEqual(
      events.find((e) => e.message.startsWith('Creating 3 machines')),
      {
        kind: 'info',
        message: 'Creating 3 machines, 3 at a time: c, a, b',
      },
    );
    for (const name of ['a', 'b', 'c']) {
      const own = events.filter((e) => e.machine === name && e.kind !== 'state').map((e) => e.message);
      assert.deepEqual(own.slice(0, 2), ['Running pre-create checks...', 'Creating machine...'], name);
      // Each create is reported as started, then done (the JSON stream and live view use them).
      const states = events.flatMap((e) => (e.kind === 'state' && e.machine === name ? [e.state] : []));
      assert.deepEqual(states, ['started', 'done'], name);
    }
    // The CA is made once, before the machines' own lines: those lines name no machine.
    const ca = events.filter((e) => e.message.startsWith('Creating CA'));
    assert.equal(ca.length, 1);
    assert.equal(ca[0].machine, undefined);
  });

  test('a name invalid, twice, or taken: nothing is made, and each problem is named', async () => {
    events = [];
    const before = await machines();
    const reqs = await Promise.all(['n1', 'bad_name', 'n2', 'n1', 'a', ''].map((n) => none(n)));
    await assert.rejects(
      api.createMany({ machines: reqs }),
      (err: unknown) =>
        err instanceof MachineError &&
        err.exitCode === 1 &&
        err.message ===
          [
            'bad_name: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -',
            'n1: the name is given more than once',
            'a: Docker machine "a" already exists',
            '"": Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -',
            'No machine was created.',
          ].join('\n'),
    );
    assert.deepEqual(await machines(), before);
    assert.deepEqual(events, [], 'nothing started');
  });

  test('a failed pre-create step of any machine: none is made; one line for a shared error', async () => {
    const before = await machines();
    const reqs = [await none('u1', ''), await none('u2', ''), await none('u3')];
    await assert.rejects(
      api.createMany({ machines: reqs }),
      (err: unknown) =>
        err instanceof MachineError &&
        err.message ===
          'u1, u2: Error setting machine configuration from flags provided: --url option is required when no driver is selected\nNo machine was created.',
    );
    assert.deepEqual(await machines(), before);
  });

  test('parallel must be at least 1', async () => {
    await assert.rejects(
      api.createMany({ machines: [await none('z1'), await none('z2')], parallel: 0 }),
      /parallel 0: expected the number of machines to create at once, at least 1/,
    );
    assert.ok(!(await machines()).includes('z1'));
  });

  test('an aborted fleet starts no more creates; those not started are not in the store', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await api.createMany({
      machines: [await none('s1'), await none('s2'), await none('s3')],
      parallel: 1,
      signal: ac.signal,
    });
    assert.deepEqual(r.created, []);
    assert.deepEqual(
      r.failed.map((f) => [f.name, f.error, f.inStore]),
      [
        ['s1', 'interrupted before it started', false],
        ['s2', 'interrupted before it started', false],
        ['s3', 'interrupted before it started', false],
      ],
    );
    assert.ok(!(await machines()).includes('s1'));
  });
});
