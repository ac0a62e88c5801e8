import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

// The checks of `create` that come before anything is made, through bin/docker-machine: a fleet's
// names, the DOCKER_HOST warning, the docker driver's --docker-disk-size value. No engine is
// needed: the docker host given is a socket that does not exist or a closed loopback port.
const NO_ENGINE = 'unix:///nonexistent/docker.sock';

describe('create: checks before anything is made', () => {
  let s: CliStore;
  const machines = async () =>
    (await readdir(join(s.dir, 'machines')).catch(() => [])).filter((n) => !n.startsWith('.')).sort();

  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s.cleanup();
  });

  test('a fleet with a name given twice or an invalid name: one line each, nothing created', async () => {
    const r = await s.run(['create', '-d', 'docker', '--docker-host', NO_ENGINE, 'a', 'b', 'a', 'c_d', 'b']);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [
        1,
        '',
        [
          'a: the name is given more than once',
          'c_d: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -',
          'b: the name is given more than once',
          'No machine was created.',
          '',
        ].join('\n'),
      ],
    );
    assert.deepEqual(await machines(), []);
  });

  test('a fleet with a name that exists: nothing created; a failed pre-create check: exit 3', async () => {
    const none = await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'taken']);
    assert.equal(none.code, 0, none.stderr);
    const r = await s.run(['create', '-d', 'docker', '--docker-host', NO_ENGINE, 'x1', 'taken']);
    assert.deepEqual(
      [r.code, r.stderr],
      [1, 'taken: Docker machine "taken" already exists\nNo machine was created.\n'],
    );
    // Every machine fails its pre-create check the same way: one line names them all.
    const gone = await s.run(['create', '-d', 'docker', '--docker-host', NO_ENGINE, 'x1', 'x2']);
    assert.deepEqual(
      [gone.code, gone.stderr],
      [
        3,
        'x1, x2: Error with pre-create check: "Cannot connect to the Docker engine at unix:///nonexistent/docker.sock: no socket at /nonexistent/docker.sock (is the engine running?); give --docker-host the address of a running engine"\nNo machine was created.\n',
      ],
    );
    assert.match(
      gone.stdout,
      /^Creating 2 machines, 2 at a time: x1, x2\nx1 \| Running pre-create checks\.\.\.\n/,
    );
    assert.deepEqual(await machines(), ['taken']);
  });

  test('--parallel below 1 is a usage error', async () => {
    const r = await s.run(['create', '-d', 'docker', '--parallel', '0', 'y1', 'y2']);
    assert.deepEqual(
      [r.code, r.stderr],
      [
        1,
        'Incorrect Usage: invalid value "0" for flag -parallel: expected at least 1. See \'docker-machine create --help\'.\n',
      ],
    );
  });

  test('DOCKER_HOST at a machine of the store: one warning naming it, then create goes on', async () => {
    const port = await freePort();
    const inner = await s.run(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, 'inner']);
    assert.equal(inner.code, 0, inner.stderr);
    // As after `eval $(docker-machine env inner)`: create -d docker would make the new machine there.
    const env = { DOCKER_HOST: `tcp://localhost:${port}`, DOCKER_MACHINE_NAME: 'inner' };
    const r = await s.run(['create', '-d', 'docker', 'nested'], { env });
    const warning = `Warning: DOCKER_HOST (tcp://localhost:${port}) is the engine of machine "inner" of this store, so the new machine would be made inside "inner"; run 'eval $(docker-machine env -u)' first to use the local engine, or give --docker-host`;
    assert.equal(r.stdout, `${warning}\nRunning pre-create checks...\n`);
    // It went on: to the engine there, which does not answer.
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`Cannot connect to the Docker engine at tcp://localhost:${port}: `));
    // A fleet warns once.
    const fleet = await s.run(['create', '-d', 'docker', 'n1', 'n2'], { env });
    assert.equal(
      fleet.stdout.split('\n').filter((l) => l.includes('Warning: DOCKER_HOST')).length,
      1,
      fleet.stdout,
    );
    // Named on the command line, the engine is deliberate: no warning.
    const explicit = await s.run(
      ['create', '-d', 'docker', '--docker-host', `tcp://127.0.0.1:${port}`, 'nested'],
      {
        env,
      },
    );
    assert.equal(explicit.stdout, 'Running pre-create checks...\n');
    // DOCKER_HOST at no machine of the store: no warning.
    const other = await s.run(['create', '-d', 'docker', 'nested'], {
      env: { DOCKER_HOST: `tcp://127.0.0.1:${await freePort()}` },
    });
    assert.equal(other.stdout, 'Running pre-create checks...\n');
    assert.deepEqual(await machines(), ['inner', 'taken']);
  });

  test('--docker-disk-size that is not a size: the flag error, nothing created', async () => {
    const r = await s.run([
      'create',
      '-d',
      'docker',
      '--docker-host',
      NO_ENGINE,
      '--docker-disk-size',
      '10X',
      'dz',
    ]);
    assert.deepEqual(
      [r.code, r.stderr],
      [
        1,
        'Error setting machine configuration from flags provided: --docker-disk-size 10X: expected a size such as 20G or 512M, or a whole number of MB (0 for no limit)\n',
      ],
    );
    assert.ok(!(await machines()).includes('dz'));
  });
});
