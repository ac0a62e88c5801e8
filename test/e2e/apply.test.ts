import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binPath, type CliStore, repoRoot, runProcess, tempStore } from '../helpers/cli.js';

// docs/apply.md with `none` machines: their URL is a closed loopback port, so no engine is needed.
describe('apply -f FILE', () => {
  let s: CliStore;
  let file: string;
  before(async () => {
    s = await tempStore();
    file = join(s.dir, 'machines.yaml');
  });
  after(async () => {
    await s?.cleanup();
  });

  const names = async () => (await s.run(['ls', '-q'])).stdout.split('\n').filter(Boolean);
  const write = (text: string, path = file) => writeFile(path, text);
  const fleet = (web1Labels: string, extra = '') => `# the test fleet
machines:
  - name: web1
    driver: none
    flags:
      url: tcp://127.0.0.1:1
      engine-label: ${web1Labels}   # a flow list
  - name: web2
    driver: none
    flags: {url: "tcp://127.0.0.1:2", swarm-master: false}
${extra}`;

  test('--dry-run prints the plan and creates nothing', async () => {
    await write(fleet('[env=ci, "team=a b"]'));
    const r = await s.run(['apply', '-f', file, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'web1 | Plan: create web1 (driver none)\nweb2 | Plan: create web2 (driver none)\n',
    );
    assert.deepEqual(await names(), []);
  });

  test('creates what is missing, in parallel, and records what made each machine', async () => {
    const r = await s.run(['apply', '-f', file, '--parallel', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Creating 2 machines, 2 at a time: web1, web2$/m);
    assert.match(r.stdout, /^web2 \| Creating machine\.\.\.$/m);
    assert.match(r.stdout, /^Created 2 machines: web1, web2$/m);
    assert.deepEqual(await names(), ['web1', 'web2']);
    // The flags reached the machine as create's would.
    const web1 = JSON.parse((await s.run(['inspect', 'web1'])).stdout);
    assert.deepEqual(web1.HostOptions.EngineOptions.Labels, ['env=ci', 'team=a b']);
    assert.equal(web1.Driver.URL, 'tcp://127.0.0.1:1');
    const recordPath = join(s.dir, 'machines', 'web1', 'apply.json');
    assert.equal(statSync(recordPath).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(recordPath, 'utf8')), {
      label: file,
      driver: 'none',
      flags: { url: 'tcp://127.0.0.1:1', 'engine-label': ['env=ci', 'team=a b'] },
    });

    const again = await s.run(['apply', '-f', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      again.stdout,
      'web1 | Plan: web1 exists and matches the file\nweb2 | Plan: web2 exists and matches the file\nUnchanged: web1, web2\n',
    );
  });

  test('drift is shown and kept; --recreate replaces the machine', async () => {
    await write(fleet('[env=prod, "team=a b"]'));
    const r = await s.run(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^web1 \| Plan: web1 differs from the file \(kept; --recreate replaces it\): engine-label: file \[env=prod, team=a b\], machine \[env=ci, team=a b\]$/m,
    );
    assert.match(r.stdout, /^Differ from the file \(kept\): web1$/m);
    const kept = JSON.parse((await s.run(['inspect', 'web1'])).stdout);
    assert.deepEqual(kept.HostOptions.EngineOptions.Labels, ['env=ci', 'team=a b']);

    const re = await s.run(['apply', '-f', file, '--recreate']);
    assert.equal(re.code, 0, re.stderr);
    assert.match(re.stdout, /^Recreated 1 machine: web1$/m);
    assert.match(re.stdout, /^Unchanged: web2$/m);
    const now = JSON.parse((await s.run(['inspect', 'web1'])).stdout);
    assert.deepEqual(now.HostOptions.EngineOptions.Labels, ['env=prod', 'team=a b']);
  });

  test('--prune removes only machines this file made and no longer lists', async () => {
    // One made by hand, one by another file: neither carries this file's label.
    assert.equal((await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:3', 'byhand'])).code, 0);
    const other = join(s.dir, 'other.yaml');
    await write(
      'label: other-fleet\nmachines:\n  - name: theirs\n    driver: none\n    flags:\n      url: tcp://127.0.0.1:4\n',
      other,
    );
    assert.equal((await s.run(['apply', '-f', other])).code, 0);

    await write(fleet('[env=prod, "team=a b"]').replace(/ {2}- name: web2[\s\S]*$/, ''));
    const keep = await s.run(['apply', '-f', file]);
    assert.equal(keep.code, 0, keep.stderr);
    assert.match(
      keep.stdout,
      /^web2 \| Plan: web2 was made by this file and is no longer in it \(kept; --prune removes it\)$/m,
    );
    assert.deepEqual(await names(), ['byhand', 'theirs', 'web1', 'web2']);

    const dry = await s.run(['apply', '-f', file, '--prune', '--dry-run']);
    assert.match(dry.stdout, /^web2 \| Plan: remove web2, made by this file and no longer in it$/m);
    assert.deepEqual(await names(), ['byhand', 'theirs', 'web1', 'web2']);

    const prune = await s.run(['apply', '-f', file, '--prune']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /^Removed 1 machine: web2$/m);
    assert.deepEqual(await names(), ['byhand', 'theirs', 'web1']);
  });

  test('a JSON file, and --json: only event lines on stdout', async () => {
    const path = join(s.dir, 'fleet.json');
    await write(
      JSON.stringify(
        {
          label: 'json-fleet',
          machines: [
            { name: 'j1', driver: 'none', flags: { url: 'tcp://127.0.0.1:5', 'engine-label': ['a=b'] } },
          ],
        },
        null,
        2,
      ),
      path,
    );
    const r = await s.run(['apply', '-f', path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(events[0].step, 'Plan: create j1 (driver none)');
    assert.equal(events[0].operation, 'apply');
    const states = events.filter(
      (e) =>
        e.machine === 'j1' && e.operation === 'create' && ['started', 'done', 'failed'].includes(e.state),
    );
    assert.deepEqual(
      states.map((e) => e.state),
      ['started', 'done'],
    );
    assert.match(r.stderr, /^Created 1 machine: j1$/m);
  });

  test('on a terminal: plan lines, then one live line per machine as its create starts', async () => {
    const path = join(s.dir, 'live.yaml');
    await write(
      'label: live\nmachines:\n  - {name: lv1, driver: none, flags: {url: "tcp://127.0.0.1:6"}}\n  - {name: lv-two, driver: none, flags: {url: "tcp://127.0.0.1:7"}}\n',
      path,
    );
    const cmd = `'${process.execPath}' '${binPath}' apply -f '${path}'`;
    const r = await runProcess('script', ['-qec', cmd, '/dev/null'], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
    });
    assert.equal(r.code, 0, r.stdout);
    const out = r.stdout.replaceAll('\r', '');
    assert.match(out, /^lv1 {4}\| Plan: create lv1 \(driver none\)$/m);
    assert.ok(out.includes('\x1b[2A'), 'the two lines are redrawn in place');
    const last = out.slice(out.lastIndexOf('\x1b[2A'));
    assert.match(last, /\x1b\[2Klv1 {4}\| +\d+s {2}done\n/);
    assert.match(last, /\x1b\[2Klv-two \| +\d+s {2}done\n/);
    assert.ok(!/^lv1 +\| Creating machine/m.test(out), 'no interleaved log lines');
    assert.match(out, /^Created 2 machines: lv1, lv-two$/m);
    assert.equal((await s.run(['rm', '-y', 'lv1', 'lv-two'])).code, 0);
  });

  test('from the library: applyFile plans, applies, and refuses a bad file with the same line', async () => {
    const { MachineAPI } = createRequire(import.meta.url)(join(repoRoot, 'dist', 'api.cjs'));
    const api = new MachineAPI({ storePath: s.dir, env: { DOCKER_CONFIG: join(s.dir, 'docker-config') } });
    const path = join(s.dir, 'lib.yaml');
    await write(
      'label: lib\nmachines:\n  - name: lib1\n    driver: none\n    flags:\n      url: tcp://127.0.0.1:8\n',
      path,
    );
    const dry = await api.applyFile(path, { dryRun: true });
    assert.deepEqual(dry.plan.create, ['lib1']);
    assert.ok(!(await names()).includes('lib1'));
    const done = await api.applyFile(path);
    assert.deepEqual(
      done.fleet.created.map((m: { name: string }) => m.name),
      ['lib1'],
    );
    await write('label: lib\nmachines: []\n', path);
    const pruned = await api.applyFile(path, { prune: true });
    assert.deepEqual(pruned.removed, ['lib1']);
    await write('machines:\n  - name: lib2\n    driver: none\n    flags: {urll: x}\n', path);
    await assert.rejects(api.applyFile(path), {
      message: `${path}:4: machines[0].flags.urll: not a create flag of driver none; close names: url`,
    });
  });

  // Each bad file: exactly one line naming the file, the line and the field; nothing is created.
  const bad: [string, string, string][] = [
    [
      'unknown flag',
      'machines:\n  - name: b1\n    driver: none\n    flags:\n      urll: tcp://127.0.0.1:1\n',
      ':5: machines[0].flags.urll: not a create flag of driver none; close names: url',
    ],
    [
      'refused value',
      'machines:\n  - name: b1\n    driver: none\n    flags:\n      url: tcp://127.0.0.1:1\n      engine-label: [ok=1, bad]\n',
      ':6: machines[0].flags.engine-label: invalid value "bad" for flag -engine-label: expected KEY=VALUE, e.g. env=staging',
    ],
    [
      'bool not a bool',
      'machines:\n  - name: b1\n    driver: none\n    flags:\n      swarm-master: yes\n',
      ':5: machines[0].flags.swarm-master: invalid boolean value "yes" for -swarm-master: parse error',
    ],
    [
      'list for a single flag',
      'machines:\n  - name: b1\n    driver: none\n    flags:\n      url: [a, b]\n',
      ':5: machines[0].flags.url: expected one value, not a list (the flag is not repeatable)',
    ],
    [
      'unknown driver',
      'machines:\n  - name: b1\n    driver: nonex\n',
      ':3: machines[0].driver: Driver "nonex" not found.',
    ],
    [
      'misspelt field',
      'machines:\n  - name: b1\n    drivr: none\n',
      ':3: machines[0].drivr: unknown field; expected name, driver, flags (did you mean driver?)',
    ],
    ['missing driver', '\nmachines:\n  - name: b1\n', ':3: machines[0].driver: missing'],
    [
      'bad name',
      'machines:\n  - name: "a b"\n    driver: none\n',
      ':2: machines[0].name: Invalid hostname specified.',
    ],
    [
      'name twice',
      'machines:\n  - {name: b1, driver: none}\n  - name: b1\n    driver: none\n',
      ':3: machines[1].name: "b1" is listed twice (first at line 2)',
    ],
    ['tab', 'machines:\n\t- name: b1\n', ':2: a tab in the indentation: indent with spaces'],
    [
      'unclosed flow list',
      'machines:\n  - name: b1\n    driver: none\n    flags:\n      engine-label: [a=b\n',
      ':5: a flow list must close with ] on its line',
    ],
    ['no machines', 'label: x\n', ':1: machines: missing: list the machines under "machines:"'],
    ['bad indentation', 'machines:\n  - name: b1\n      driver: none\n', ':3: unexpected indentation'],
  ];
  for (const [what, text, line] of bad) {
    test(`a bad file (${what}) gets one line: file, line, field`, async () => {
      const path = join(s.dir, 'bad.yaml');
      await write(text, path);
      const before = await names();
      const r = await s.run(['apply', '-f', path]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].startsWith(`${path}${line}`), `${lines[0]}\nwanted ${path}${line}`);
      assert.deepEqual(await names(), before);
    });
  }

  test('a bad JSON file names its line too', async () => {
    const path = join(s.dir, 'bad.json');
    await write(
      '{\n  "machines": [\n    {"name": "j2", "driver": "none",\n     "flags": {"engine-labl": ["a=b"]}}\n  ]\n}\n',
      path,
    );
    const r = await s.run(['apply', '-f', path]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `${path}:4: machines[0].flags.engine-labl: not a create flag of driver none; close names: engine-label\n`,
    );
  });
});
