import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, cleanEnv, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { genericCreateArgs, type HostRig, startHostRig } from '../helpers/generic-rig.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

const NOT_FOUND = (n: string) =>
  `Docker machine "${n}" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.`;
const RESTARTED =
  'Restarted machines may have new IP addresses. You may need to re-run the `docker-machine env` command.';

/** stdout without the "Still waiting ..." lines a slow machine adds to any wait. */
const progress = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Still waiting for '))
    .join('\n');

describe('start, stop, restart, kill without a test host', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s?.cleanup();
  });

  test('a none machine: already running, and the driver cannot stop, kill or restart it', async () => {
    const c = await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'nn']);
    assert.equal(c.code, 0, c.stderr);
    const cases: [string, string, string][] = [
      ['start', 'Starting "nn"...\n', 'Machine "nn" is already running.\n'],
      ['stop', 'Stopping "nn"...\n', 'hosts without a driver cannot be stopped\n'],
      ['kill', 'Killing "nn"...\n', 'hosts without a driver cannot be killed\n'],
      ['restart', 'Restarting "nn"...\n', 'hosts without a driver cannot be restarted\n'],
    ];
    for (const [cmd, stdout, stderr] of cases) {
      const r = await s.run([cmd, 'nn']);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, stdout, stderr], cmd);
    }
  });

  test('unknown machines fail before any machine is acted on; no name and no "default"', async () => {
    for (const cmd of ['start', 'stop', 'restart', 'kill']) {
      const r = await s.run([cmd, 'nn', 'nope']);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', `${NOT_FOUND('nope')}\n`], cmd);
      const none = await s.run([cmd]);
      assert.deepEqual(
        [none.code, none.stderr],
        [1, 'Error: No machine name(s) specified and no "default" machine exists\n'],
        cmd,
      );
    }
  });

  test('help lists the commands in the original order, each with --wait-timeout', async () => {
    const r = await s.run(['--help']);
    const names = r.stdout
      .split('\n')
      .map((l) => /^ {2}([a-z-]+)\t/.exec(l)?.[1])
      .filter((n) => n && ['ip', 'kill', 'ls', 'restart', 'rm', 'start', 'status', 'stop'].includes(n));
    assert.deepEqual(names, ['ip', 'kill', 'ls', 'restart', 'rm', 'start', 'status', 'stop']);
    const h = await s.run(['restart', '--help']);
    assert.match(h.stdout, /^Usage: docker-machine restart \[OPTIONS\] \[arg\.\.\.\]\n\nRestart a machine\n/);
    assert.match(h.stdout, /--wait-timeout "120"\t/);
  });
});

// Real Debian hosts (systemd, sshd, Debian's docker.io) in containers on an engine of the test's
// own, reached only through ports published on 127.0.0.1. They run with --restart=always: a
// reboot inside ends the container and the engine starts it again, with a fresh /run.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('lifecycle of generic machines on real hosts', { skip, timeout: 20 * 60_000 }, () => {
  let s: CliStore;
  let rig: HostRig;
  let host1: TestHost;
  let host2: TestHost;
  let work: string;
  let key: string;

  const create = async (name: string, host: TestHost) => {
    const r = await s.run(genericCreateArgs(host, key, name), { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  };

  before(async () => {
    rig = await startHostRig({ prefix: 'lifecycle', withDocker: true, count: 2, restartAlways: true });
    ({ work, key } = rig);
    [host1, host2] = rig.hosts;
    s = await tempStore();
    await create('gen1', host1);
    await create('default', host2);
  });

  after(async () => {
    await rig?.stop();
    await s?.cleanup();
  });

  const withEnv = (name: string, script: string) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(work, 'docker-config') },
      timeoutMs: 120_000,
    });

  /** A file in the host's /run (a tmpfs): gone after a real reboot. */
  const MARK = '/run/dm-test-marker';
  const mark = (h: TestHost) => h.exec(`touch ${MARK}`);
  const marked = async (h: TestHost) => (await h.exec(`test -e ${MARK} && echo yes || echo no`)).trim();
  const restartCount = async (h: TestHost) =>
    Number((await rig.engine.docker(['inspect', '-f', '{{.RestartCount}}', h.id])).trim());

  test('restart reboots a generic machine; a --restart=always container runs again; TLS answers', async () => {
    // As PID 1 a bare `sleep` ignores SIGTERM, and the host's shutdown would wait 90 s for it.
    const started = await withEnv(
      'gen1',
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never -d --restart=always --name keep busybox sh -c 'trap "exit 0" TERM; sleep 100000 & wait' >/dev/null && docker inspect -f '{{.State.StartedAt}}' keep`,
    );
    assert.equal(started.code, 0, started.stderr);
    await mark(host1);
    const reboots = await restartCount(host1);

    const r = await s.run(['restart', 'gen1'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(
      progress(r.stdout),
      [
        'Restarting "gen1"...',
        'Waiting for SSH to be available...',
        'Detecting the provisioner...',
        RESTARTED,
      ].join('\n'),
    );
    assert.equal(r.stderr, '');
    // The proof of a reboot: /run was emptied and the engine started the container again.
    assert.equal(await marked(host1), 'no');
    assert.equal(await restartCount(host1), reboots + 1);

    const after = await withEnv('gen1', "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keep");
    assert.equal(after.code, 0, after.stderr);
    const [running, startedAt] = after.stdout.trim().split(' ');
    assert.equal(running, 'true');
    assert.notEqual(startedAt, started.stdout.trim(), 'the container was started again after the reboot');
    const v = await withEnv('gen1', "docker version --format '{{.Server.Version}}'");
    assert.equal(v.stdout, '20.10.24+dfsg1\n');
    const ls = await s.run([
      'ls',
      '--format',
      '{{.Name}} {{.State}} {{.DockerVersion}}',
      '--filter',
      'name=gen1',
    ]);
    assert.equal(ls.stdout, 'gen1 Running v20.10.24+dfsg1\n');
  });

  test('restart A B reboots both; restart with no name (and --native-ssh) reboots "default" only', async () => {
    await Promise.all([mark(host1), mark(host2)]);
    const both = await s.run(['restart', 'gen1', 'default'], { timeoutMs: 300_000 });
    assert.equal(both.code, 0, `${both.stdout}\n${both.stderr}`);
    const lines = progress(both.stdout).split('\n');
    assert.ok(lines.includes('Restarting "gen1"...'), both.stdout);
    assert.ok(lines.includes('Restarting "default"...'), both.stdout);
    assert.equal(lines.filter((l) => l === 'Detecting the provisioner...').length, 2, both.stdout);
    assert.deepEqual(
      lines.filter((l) => l === RESTARTED),
      [RESTARTED],
    );
    assert.equal(lines.at(-1), RESTARTED);
    assert.deepEqual([await marked(host1), await marked(host2)], ['no', 'no']);

    await Promise.all([mark(host1), mark(host2)]);
    const dflt = await s.run(['--native-ssh', 'restart'], { timeoutMs: 300_000 });
    assert.equal(dflt.code, 0, `${dflt.stdout}\n${dflt.stderr}`);
    assert.equal(
      progress(dflt.stdout),
      [
        'Restarting "default"...',
        'Waiting for SSH to be available...',
        'Detecting the provisioner...',
        RESTARTED,
      ].join('\n'),
    );
    assert.deepEqual([await marked(host1), await marked(host2)], ['yes', 'no']);
    const v = await withEnv('default', "docker version --format '{{.Server.Version}}'");
    assert.equal(v.stdout, '20.10.24+dfsg1\n');
  });

  test('start, stop and kill of a running generic machine: the spec errors, exit 1', async () => {
    const cases: [string, string, string][] = [
      ['start', 'Starting "gen1"...\n', 'Machine "gen1" is already running.\n'],
      ['stop', 'Stopping "gen1"...\n', 'generic driver does not support stop\n'],
      ['kill', 'Killing "gen1"...\n', 'generic driver does not support kill\n'],
    ];
    for (const [cmd, stdout, stderr] of cases) {
      const r = await s.run([cmd, 'gen1']);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, stdout, stderr], cmd);
    }
    assert.equal(await marked(host1), 'yes', 'nothing rebooted the host');
  });

  test('a generic machine whose SSH port is closed: start unsupported, already stopped, ssh refused', async () => {
    const c = await s.run([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      '1',
      '--wait-timeout',
      '1',
      'down',
    ]);
    assert.equal(c.code, 1, 'create fails but leaves the machine, as the original');
    const cases: [string[], string, string][] = [
      [['start', 'down'], 'Starting "down"...\n', 'generic driver does not support start\n'],
      [['stop', 'down'], 'Stopping "down"...\n', 'Machine "down" is already stopped.\n'],
      [['kill', 'down'], 'Killing "down"...\n', 'Machine "down" is already stopped.\n'],
      [
        ['restart', 'down'],
        'Restarting "down"...\nStarting "down"...\n',
        'generic driver does not support start\n',
      ],
      [['ssh', 'down', 'true'], '', 'Error: Cannot run SSH command: Host "down" is not running\n'],
    ];
    for (const [args, stdout, stderr] of cases) {
      const r = await s.run(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, stdout, stderr], args.join(' '));
    }
    // One failing machine fails the command; the other machine is still acted on.
    const mixed = await s.run(['stop', 'down', 'gen1']);
    assert.equal(mixed.code, 1);
    assert.deepEqual(mixed.stderr.trim().split('\n').sort(), [
      'Machine "down" is already stopped.',
      'generic driver does not support stop',
    ]);
    assert.equal((await s.run(['rm', '-y', 'down'])).code, 0);
  });

  test('ssh NAME with a terminal is an interactive login (driven through script(1))', async () => {
    // script gives the CLI a pseudo-terminal; we type into it once the remote prompt shows.
    const child = spawn('script', ['-qec', `${cliShell} ssh gen1`, '/dev/null'], {
      env: cleanEnv({ MACHINE_STORAGE_PATH: s.dir, TERM: 'dumb' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let typed = false;
    const onData = (d: Buffer) => {
      out += d;
      if (!typed && /@\S+:\S*# $/.test(out)) {
        typed = true;
        child.stdin.write('echo "sum=$((6*7))"; test -t 0 && echo "tty=$((1+1))"; exit 3\r');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((r) => child.once('close', r));
    clearTimeout(bound);
    child.stdin.destroy();
    assert.ok(typed, `no prompt seen:\n${out}`);
    assert.equal(code, 3, out);
    assert.match(out, /^sum=42\r?$/m);
    assert.match(out, /^tty=2\r?$/m);
  });
});
