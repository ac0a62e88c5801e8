import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binPath, type CliStore, repoRoot, runProcess, tempStore } from '../helpers/cli.js';

// docs/events.md: --json prints one event a line, the same fields on each, and nothing else on
// stdout; status and version take --format json; a fleet on a terminal draws one live line per
// machine. `none` machines: their URL is a closed loopback port, so no engine is needed.
const URL = 'tcp://127.0.0.1:1';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

interface Event {
  time: string;
  machine: string | null;
  operation: string | null;
  state: string;
  step: string;
  error: string | null;
}

/** Every stdout line is an event with exactly the documented fields. */
function events(stdout: string): Event[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  assert.ok(lines.length > 0, 'no events on stdout');
  return lines.map((l) => {
    const e = JSON.parse(l) as Event;
    assert.deepEqual(Object.keys(e), ['time', 'machine', 'operation', 'state', 'step', 'error'], l);
    assert.match(e.time, RFC3339);
    assert.ok(['started', 'step', 'warning', 'done', 'failed'].includes(e.state), l);
    assert.equal(typeof e.step, 'string');
    assert.equal(e.error === null, e.state !== 'failed', l);
    if (e.error !== null) assert.ok(!e.error.includes('\n'));
    return e;
  });
}

/** One machine's events of one operation: started first, then steps, then done or failed. */
function lifeOf(all: Event[], machine: string, operation: string): Event[] {
  const mine = all.filter((e) => e.machine === machine && e.operation === operation && e.state !== 'step');
  assert.equal(mine[0]?.state, 'started', `${machine} ${operation}: ${JSON.stringify(mine)}`);
  const last = mine[mine.length - 1];
  assert.ok(['done', 'failed'].includes(last.state), JSON.stringify(last));
  assert.equal(mine.filter((e) => e.state === 'done' || e.state === 'failed').length, 1);
  return mine;
}

describe('--json events and --format json', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s?.cleanup();
  });

  test('create --json: one machine, then a fleet; the plain lines move to stderr', async () => {
    const one = await s.run(['create', '-d', 'none', '--url', URL, '--json', 'ev1']);
    assert.equal(one.code, 0, one.stderr);
    const e1 = events(one.stdout);
    assert.equal(lifeOf(e1, 'ev1', 'create').at(-1)?.state, 'done');
    assert.ok(e1.some((e) => e.state === 'step' && e.step === 'Creating machine...' && e.machine === 'ev1'));
    assert.match(one.stderr, /To see how to connect your Docker Client/);
    // Times never go back.
    const times = e1.map((e) => Date.parse(e.time));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );

    const fleet = await s.run(['create', '-d', 'none', '--url', URL, '--json', 'ev2', 'ev3']);
    assert.equal(fleet.code, 0, fleet.stderr);
    const e2 = events(fleet.stdout);
    for (const m of ['ev2', 'ev3']) assert.equal(lifeOf(e2, m, 'create').at(-1)?.state, 'done');
    assert.ok(!fleet.stdout.includes(' | '), 'no NAME | lines on stdout');
    assert.match(fleet.stderr, /^Created 2 machines: ev2, ev3$/m);

    // A refused fleet (a name taken): each refused machine is a failed event with the reason.
    const refused = await s.run(['create', '-d', 'none', '--url', URL, '--json', 'ev1', 'ev9']);
    assert.notEqual(refused.code, 0);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /ev1: Docker machine "ev1" already exists/);
  });

  test('a failing create is a failed event with its one-line error and the step it reached', async () => {
    const r = await s.run(['create', '-d', 'none', '--json', 'evbad']);
    assert.notEqual(r.code, 0);
    const e = events(r.stdout);
    const failed = lifeOf(e, 'evbad', 'create').at(-1);
    assert.equal(failed?.state, 'failed');
    assert.ok(failed?.error && failed.error.length > 0);
    assert.ok(r.stderr.includes(failed?.error ?? '?'), r.stderr);
  });

  test('stop, kill, start and rm --json: each machine started then done or failed', async () => {
    const stop = await s.run(['stop', '--json', 'ev2', 'ev3']);
    // The none driver cannot stop a machine: both fail, and say so in the event and on stderr.
    assert.equal(stop.code, 1);
    const es = events(stop.stdout);
    for (const m of ['ev2', 'ev3']) {
      const f = lifeOf(es, m, 'stop').at(-1);
      assert.equal(f?.state, 'failed');
      assert.equal(f?.error, 'hosts without a driver cannot be stopped');
      assert.equal(f?.step, `Stopping "${m}"...`);
    }
    const kill = await s.run(['kill', '--json', 'ev2', 'ev3']);
    assert.equal(kill.code, 1);
    const ek = events(kill.stdout);
    for (const m of ['ev2', 'ev3']) {
      const f = lifeOf(ek, m, 'kill').at(-1);
      assert.equal(f?.state, 'failed');
      assert.equal(f?.error, 'hosts without a driver cannot be killed');
    }
    assert.match(kill.stderr, /hosts without a driver cannot be killed/);
    const start = await s.run(['start', '--json', 'ev2']);
    assert.equal(start.code, 1);
    assert.equal(
      lifeOf(events(start.stdout), 'ev2', 'start').at(-1)?.error,
      'Machine "ev2" is already running.',
    );

    const rm = await s.run(['rm', '-y', '--json', 'ev1', 'ev2', 'ev3']);
    assert.equal(rm.code, 0, rm.stderr);
    const er = events(rm.stdout);
    for (const m of ['ev1', 'ev2', 'ev3']) assert.equal(lifeOf(er, m, 'rm').at(-1)?.state, 'done');
    assert.match(rm.stderr, /^Successfully removed ev3$/m);
    const gone = await s.run(['ls', '-q']);
    assert.equal(gone.stdout, '');
  });

  test('rm --json without -y asks on stderr, and stdout stays empty', async () => {
    assert.equal((await s.run(['create', '-d', 'none', '--url', URL, 'evq'])).code, 0);
    const no = await s.run(['rm', '--json', 'evq'], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.equal(no.stdout, '');
    assert.match(no.stderr, /Are you sure\? \(y\/n\): /);
    const yes = await s.run(['rm', '--json', 'evq'], { input: 'y\n' });
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(lifeOf(events(yes.stdout), 'evq', 'rm').at(-1)?.state, 'done');
  });

  test('status and version --format json; the plain output is unchanged without it', async () => {
    assert.equal((await s.run(['create', '-d', 'none', '--url', URL, 'evs'])).code, 0);
    const st = await s.run(['status', '--format', 'json', 'evs']);
    assert.equal(st.code, 0, st.stderr);
    assert.deepEqual(JSON.parse(st.stdout), { Name: 'evs', State: 'Running' });
    assert.equal((await s.run(['status', 'evs'])).stdout, 'Running\n');
    const bad = await s.run(['status', '--format', 'xml', 'evs']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /invalid value "xml" for flag -format: the only format is json/);

    const v = await s.run(['version', '--format', 'json']);
    assert.equal(v.code, 0, v.stderr);
    const parsed = JSON.parse(v.stdout) as { Version: string; GitCommit: string };
    assert.deepEqual(Object.keys(parsed), ['Version', 'GitCommit']);
    const plain = await s.run(['version']);
    assert.equal(plain.stdout, `docker-machine version ${parsed.Version}, build ${parsed.GitCommit}\n`);
    // A machine's engine does not answer (closed port): the same error as without the flag.
    const engine = await s.run(['version', '--format', 'json', 'evs']);
    assert.equal(engine.code, 1);
    assert.equal(engine.stdout, '');
    assert.equal(engine.stderr, (await s.run(['version', 'evs'])).stderr);
  });

  test('a fleet on a terminal: one live line per machine, redrawn in place', async () => {
    // script(1) gives the CLI a pseudo-terminal as stdout.
    const cmd = `'${process.execPath}' '${binPath}' create -d none --url ${URL} evt1 evt-two`;
    const r = await runProcess('script', ['-qec', cmd, '/dev/null'], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config'), COLUMNS: '100' },
    });
    assert.equal(r.code, 0, r.stdout);
    const out = r.stdout.replaceAll('\r', '');
    // Redrawn: the cursor goes up over the two lines, each line is erased before it is written.
    assert.ok(out.includes('\x1b[2A'), JSON.stringify(out.slice(0, 300)));
    assert.match(out, /\x1b\[2Kevt1 {4}\| {5}0s {2}Creating machine\.\.\./);
    // The block's last drawing: both machines done, with their times.
    const last = out.slice(out.lastIndexOf('\x1b[2A'));
    assert.match(last, /\x1b\[2Kevt1 {4}\| +\d+s {2}done\n/);
    assert.match(last, /\x1b\[2Kevt-two \| +\d+s {2}done\n/);
    // No interleaved `NAME | step` log lines (only the live lines start with an erase).
    assert.ok(!/^evt1 +\| Creating machine/m.test(out));
    assert.match(out, /^Created 2 machines: evt1, evt-two$/m);

    // Without a terminal: the plain prefixed lines, and no escape sequence.
    await s.run(['rm', '-y', 'evt1', 'evt-two']);
    const plain = await s.run(['create', '-d', 'none', '--url', URL, 'evt1', 'evt-two']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^evt1 {4}\| Creating machine\.\.\.$/m);
    assert.ok(!plain.stdout.includes('\x1b'));
  });

  test('the library offers the same stream: state events, and toJsonEvent for the JSON line', async () => {
    const { MachineAPI, toJsonEvent } = createRequire(import.meta.url)(join(repoRoot, 'dist', 'api.cjs'));
    const lines: Event[] = [];
    const api = new MachineAPI({
      storePath: s.dir,
      env: { DOCKER_CONFIG: join(s.dir, 'docker-config') },
      events: (e: unknown) => {
        const j = toJsonEvent(e);
        if (j) lines.push(j);
      },
    });
    await api.create({
      name: 'evlib',
      driver: 'none',
      driverFlags: await api.driverFlags('none', { url: URL }),
    });
    await api.remove('evlib');
    const all = events(lines.map((l) => JSON.stringify(l)).join('\n'));
    assert.equal(lifeOf(all, 'evlib', 'create').at(-1)?.state, 'done');
    assert.equal(lifeOf(all, 'evlib', 'rm').at(-1)?.state, 'done');
  });
});
