import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { goQuote } from '../../src/errors.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { testHostsAvailable } from '../helpers/testhost.js';

// The engine options of create reach dockerd exactly, through the drop-in that real systemd
// reads in a docker-driver machine: spaces, quotes, backslashes, $ and % in values stay what
// they are, and a value with a newline (which would add directives) is refused before anything
// is made.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

const ENV_FOO = 'FOO=bar';
const ENV_ODD = 'ODD=a b "q" \'s\' \\back $HOME $$HOME %n %% `x` $(y)';
const LABEL = 'note=50% of $HOME "q" \\b';

describe('engine options through the systemd drop-in', { skip, timeout: 20 * 60_000 }, () => {
  let rig: EngineRig;

  before(async () => {
    rig = await startEngineRig({ poolPrefix: '172.24' });
  });
  after(async () => {
    await rig?.stop();
  });

  test('a newline or control character in an engine or swarm value is refused at once, naming the flag', async () => {
    for (const [flag, value] of [
      ['--engine-env', 'FOO=bar\nExecStartPre=/bin/touch /tmp/x'],
      ['--engine-opt', 'log-level=warn\n[Service]'],
      ['--engine-label', 'a=b\rc'],
      ['--engine-insecure-registry', 'r.example\n'],
      ['--engine-registry-mirror', 'https://m.example\u0007'],
      ['--engine-storage-driver', 'overlay2\nX=1'],
      ['--swarm-opt', 'a\nb'],
    ]) {
      const r = await rig.store.run([
        'create',
        '-d',
        'docker',
        '--docker-host',
        rig.dockerHost,
        flag,
        value,
        'bad',
      ]);
      assert.equal(r.code, 1, `${flag}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      // The check the flag's definition carries (src/flags/checks.ts), as a usage error: one line
      // that names the flag and the value, then what a good value looks like.
      assert.ok(
        r.stderr.startsWith(
          `Incorrect Usage: invalid value ${goQuote(value)} for flag ${flag.slice(1)}: expected `,
        ) &&
          r.stderr.endsWith(`. See 'docker-machine create --help'.\n`) &&
          r.stderr.split('\n').length === 2,
        r.stderr,
      );
      const made = await readdir(join(rig.store.dir, 'machines')).catch(() => [] as string[]);
      assert.deepEqual(
        made.filter((n) => !n.startsWith('.')),
        [],
        `${flag}: nothing is made`,
      );
    }
  });

  test('dockerd gets --engine-env and --engine-label values byte for byte', async () => {
    const r = await rig.create('opts1', [
      '--engine-env',
      ENV_FOO,
      '--engine-env',
      ENV_ODD,
      '--engine-label',
      LABEL,
      '--engine-opt',
      'log-level=warn',
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const config = JSON.parse(
      await readFile(join(rig.store.dir, 'machines', 'opts1', 'config.json'), 'utf8'),
    );
    const id = config.Driver.ContainerID as string;
    const environ = await rig.outer([
      'exec',
      id,
      'sh',
      '-c',
      'cat /proc/$(pidof dockerd)/environ | base64 -w0',
    ]);
    const vars = Buffer.from(environ, 'base64').toString().split('\0');
    assert.ok(vars.includes(ENV_FOO), vars.join('\n'));
    assert.ok(vars.includes(ENV_ODD), vars.join('\n'));
    const cmdline = await rig.outer([
      'exec',
      id,
      'sh',
      '-c',
      'cat /proc/$(pidof dockerd)/cmdline | base64 -w0',
    ]);
    const argv = Buffer.from(cmdline, 'base64').toString().split('\0');
    const at = argv.indexOf(LABEL);
    assert.ok(at > 0 && argv[at - 1] === '--label', argv.join(' | '));
    assert.ok(argv.includes('--log-level=warn'), argv.join(' | '));
    const labels = await rig.withEnv('opts1', "docker info --format '{{json .Labels}}'");
    assert.equal(labels.code, 0, labels.stderr);
    assert.ok((JSON.parse(labels.stdout) as string[]).includes(LABEL), labels.stdout);
  });
});
