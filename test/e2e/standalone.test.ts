/**
 * What only the single-file executable (npm run build:standalone) can get wrong, run against the
 * one DM_TEST_BIN names: nothing in the working directory changes what it does, the qemu segment
 * hub runs from the executable itself, ssh2 works without its native add-on, and the commands
 * answer exactly as the Node build does. The other test files run against it too (DM_TEST_BIN).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateServerCert } from '../../src/cert/server.js';
import { ensureSegment } from '../../src/drivers/qemu/segment.js';
import { pingHub } from '../../src/drivers/qemu/segment-control.js';
import { paths, segmentDir } from '../../src/drivers/qemu/segment-members.js';
import { binPath, cleanEnv, type RunResult, runProcess, testBin } from '../helpers/cli.js';
import { type Sshd, sshdAvailable, startSshd } from '../helpers/sshd.js';
import { makeTestCA } from '../helpers/test-ca.js';

// scripts/build-standalone.mjs gives the executable this first argument to run the hub.
const SEGMENT_HUB_ARG = '--run-qemu-segment-hub';

const skip = testBin === undefined ? 'set DM_TEST_BIN to an executable from npm run build:standalone' : false;

describe('the single-file executable', { skip }, () => {
  const exe = testBin ?? '';
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-standalone-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A store of `none` machines, made by the Node build. */
  async function noneMachines(store: string, names: string[]): Promise<void> {
    for (const name of names) {
      const made = await runProcess(
        process.execPath,
        [binPath, 'create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', name],
        { env: { MACHINE_STORAGE_PATH: store } },
      );
      assert.equal(made.code, 0, made.stderr);
    }
  }

  function runIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): RunResult {
    const r = spawnSync(exe, args, { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  test('a hostile working directory: .env files and a bunfig.toml preload change nothing', async () => {
    const home = join(root, 'home');
    const hostile = join(root, 'hostile');
    const elsewhere = join(root, 'store-from-dotenv');
    const marker = join(root, 'preload-ran');
    await mkdir(home, { recursive: true });
    await mkdir(hostile, { recursive: true });
    const dotenv = `MACHINE_STORAGE_PATH=${elsewhere}\nMACHINE_DEBUG=1\nDOCKER_HOST=tcp://127.0.0.1:9\n`;
    for (const f of ['.env', '.env.local', '.env.production', '.env.development']) {
      await writeFile(join(hostile, f), dotenv);
    }
    await writeFile(
      join(hostile, 'preload.js'),
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`,
    );
    await writeFile(
      join(hostile, 'bunfig.toml'),
      'preload = ["./preload.js"]\n[run]\npreload = ["./preload.js"]\n',
    );
    await writeFile(join(hostile, 'package.json'), '{"name":"x","type":"module"}\n');

    // The same runtime with its autoloading on does read both: the files are live ammunition.
    const bun = spawnSync(exe, ['-e', 'process.stdout.write(process.env.MACHINE_STORAGE_PATH ?? "none")'], {
      cwd: hostile,
      env: cleanEnv({ BUN_BE_BUN: '1' }),
      encoding: 'utf8',
    });
    assert.equal(bun.stdout, elsewhere, bun.stderr);
    assert.ok(existsSync(marker), 'the control run of bun should have run the preload');
    await rm(marker);

    const env = { HOME: home };
    const create = runIn(hostile, ['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'm1'], env);
    assert.equal(create.code, 0, create.stderr);
    assert.doesNotMatch(create.stderr, /Docker Machine Version|Running command/, 'MACHINE_DEBUG from .env');
    assert.ok(existsSync(join(home, '.docker', 'machine', 'machines', 'm1', 'config.json')));
    for (const args of [
      ['ls', '-q'],
      ['active'],
      ['url', 'm1'],
      ['env', 'm1'],
      ['--version'],
      ['rm', '-y', 'm1'],
    ]) {
      const r = runIn(hostile, args, env);
      if (args[0] === 'ls') assert.equal(r.stdout, 'm1\n');
      // DOCKER_HOST from .env names no machine either, but would turn this into a connection.
      if (args[0] === 'active') assert.deepEqual([r.code, r.stderr], [1, 'No active host found\n']);
      if (args[0] === 'url') assert.equal(r.stdout, 'tcp://127.0.0.1:1\n');
      assert.doesNotMatch(
        r.stderr,
        /Docker Machine Version|Running command/,
        `${args.join(' ')}: MACHINE_DEBUG`,
      );
    }
    assert.equal(existsSync(elsewhere), false, 'the store path from .env was used');
    assert.equal(existsSync(marker), false, 'the bunfig.toml preload ran inside the CLI');
    assert.equal(existsSync(join(home, '.docker', 'machine', 'machines', 'm1')), false);
  });

  test('the qemu segment hub runs from the executable itself', async () => {
    const cache = join(root, 'segment-cache');
    await mkdir(cache, { recursive: true });
    const { hubPort } = await ensureSegment(cache, {
      hubCommand: { program: exe, args: [SEGMENT_HUB_ARG] },
      idleMs: 5000,
    });
    const pid = Number.parseInt(await readFile(paths.pid(segmentDir(cache)), 'utf8'), 10);
    try {
      const status = await pingHub(hubPort);
      assert.equal(status?.pid, pid);
      assert.equal(realpathSync(`/proc/${pid}/exe`), realpathSync(exe));
    } finally {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
  });

  describe('--native-ssh: ssh2 without its native add-on', {
    skip: sshdAvailable() ? false : 'needs root and sshd',
  }, () => {
    let sshd: Sshd;
    before(async () => {
      sshd = await startSshd();
    });
    after(async () => {
      await sshd?.stop();
    });

    test('ssh runs a command and returns its exit code', async () => {
      const store = join(root, 'ssh-store');
      const dir = join(store, 'machines', 'gen');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const template = await readFile(
        join(import.meta.dirname, '..', 'fixtures', 'store', 'generic-v3.json'),
        'utf8',
      );
      const config = JSON.parse(template.replaceAll('$STORE', store));
      Object.assign(config.Driver, { SSHPort: sshd.port, SSHUser: sshd.user, SSHKeyPath: sshd.keyPath });
      await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
      const r = runIn(root, ['--native-ssh', 'ssh', 'gen', 'echo native-$((6*7)); exit 3'], {
        MACHINE_STORAGE_PATH: store,
      });
      assert.deepEqual([r.code, r.stdout], [3, 'native-42\n'], r.stderr);
    });
  });

  test('a driver is a module of its own, read on use, and its errors are still the typed MachineError', async () => {
    // The executable holds each driver and command as an ES module of its own (so that a light
    // command reads none of them); each class must still exist once. create -d virtualbox with no
    // VBoxManage: the driver's pre-create check fails inside its module, the create command's
    // module makes it a PreCreateError (exit 3), and the entry module's `instanceof MachineError`
    // must recognise it: a second copy of src/errors.ts would make it exit 1 with "unexpected
    // internal error".
    const bytes = await readFile(exe);
    const modules = new Set(bytes.toString('latin1').match(/\/\$bunfs\/root\/[\w.-]+\.js/g) ?? []);
    for (const name of ['virtualbox', 'hetzner', 'amazonec2', 'create']) {
      assert.ok(
        [...modules].some((m) => m.startsWith(`/$bunfs/root/${name}-`)),
        `no module of its own for ${name} in ${[...modules].join(' ')}`,
      );
    }
    const emptyPath = join(root, 'empty-path');
    await mkdir(emptyPath, { recursive: true });
    const env = { MACHINE_STORAGE_PATH: join(root, 'typed-store'), PATH: emptyPath };
    const args = ['create', '-d', 'virtualbox', 'vb'];
    const [viaNode, viaExe] = await Promise.all([
      runProcess(process.execPath, [binPath, ...args], {
        env: { ...env, MACHINE_STORAGE_PATH: join(root, 'typed-node') },
      }),
      runProcess(exe, args, { env }),
    ]);
    assert.equal(viaExe.code, 3, viaExe.stderr);
    assert.equal(
      viaExe.stderr,
      'Error with pre-create check: "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path"\n',
    );
    assert.deepEqual([viaExe.code, viaExe.stderr], [viaNode.code, viaNode.stderr]);
  });

  test("env and config against engines with the right certificate, another host's, another CA's: as the Node build", async () => {
    // The executable checks with Bun's own TLS and leaves every failure to the Node code path:
    // a wrong pass would show here as success where the Node build fails.
    const store = join(root, 'tls-store');
    const other = join(root, 'other-ca');
    await mkdir(store, { recursive: true });
    const engines: HttpsServer[] = [];
    try {
      const made = await runProcess(
        process.execPath,
        [binPath, 'create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'seed'],
        {
          env: { MACHINE_STORAGE_PATH: store },
        },
      );
      assert.equal(made.code, 0, made.stderr);
      await makeTestCA(root, 'other-ca');
      const kinds: [string, string, string[]][] = [
        ['right', join(store, 'certs'), ['127.0.0.1']],
        ['otherhost', join(store, 'certs'), ['10.9.8.7', 'elsewhere.test']],
        ['otherca', other, ['127.0.0.1']],
        // The right certificates, but an engine of its own that cannot resume another's session.
        ['right2', join(store, 'certs'), ['127.0.0.1']],
      ];
      for (const [name, caDir, hosts] of kinds) {
        await generateServerCert({
          caCertPath: join(caDir, 'ca.pem'),
          caKeyPath: join(caDir, 'ca-key.pem'),
          certPath: join(root, `${name}.pem`),
          keyPath: join(root, `${name}-key.pem`),
          org: 'test',
          hosts,
        });
        const engine = createHttpsServer(
          {
            cert: await readFile(join(root, `${name}.pem`)),
            key: await readFile(join(root, `${name}-key.pem`)),
            ca: await readFile(join(caDir, 'ca.pem')),
            requestCert: true,
            rejectUnauthorized: true,
          },
          (_req, res) => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })),
        );
        engines.push(engine);
        await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
        const port = (engine.address() as AddressInfo).port;
        const c = await runProcess(
          process.execPath,
          [binPath, 'create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, name],
          {
            env: { MACHINE_STORAGE_PATH: store },
          },
        );
        assert.equal(c.code, 0, c.stderr);
      }
      // The session a passing check keeps, offered to the engine with another CA's certificate
      // (its file name is that engine's): that engine cannot resume it, and fails as before.
      const sessionName = async (port: number) => {
        const [ca, cert, key] = await Promise.all(
          ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(store, 'certs', f))),
        );
        const h = createHash('sha256');
        for (const part of ['127.0.0.1', String(port), ca, cert, key]) {
          h.update(`${part.length}:`);
          h.update(part);
        }
        return join(store, 'cache', 'tls-sessions', `${h.digest('hex')}.bun-session`);
      };
      const portOf = (i: number) => (engines[i].address() as AddressInfo).port;
      const first = await runProcess(exe, ['env', 'right'], { env: { MACHINE_STORAGE_PATH: store } });
      assert.equal(first.code, 0, first.stderr);
      const kept = await sessionName(portOf(0));
      assert.equal(statSync(kept).mode & 0o777, 0o600);
      await copyFile(kept, await sessionName(portOf(2)));
      // Offered without the client certificate, a session the engine does not take ends in a
      // full handshake with it, which passes and keeps the engine's own session in its place
      // (and removes the file of the format before).
      const right2 = await sessionName(portOf(3));
      await copyFile(kept, right2);
      const before = await readFile(right2);
      const oldFormat = right2.replace(/\.bun-session$/, '.bun.json');
      await writeFile(oldFormat, '{}', { mode: 0o600 });

      for (const [name] of kinds) {
        for (const args of [
          ['env', name],
          ['config', name],
        ]) {
          // Another CA trusted through the environment must not make its certificates pass.
          const env = { MACHINE_STORAGE_PATH: store, NODE_EXTRA_CA_CERTS: join(other, 'ca.pem') };
          const a = await runProcess(process.execPath, [binPath, ...args], { env });
          const b = await runProcess(exe, args, { env });
          assert.deepEqual(b, a, args.join(' '));
          assert.equal(a.code, name.startsWith('right') ? 0 : 1, `${args.join(' ')}: ${a.stderr}`);
        }
      }
      // No failing engine left a session of its own.
      assert.equal(existsSync(await sessionName(portOf(1))), false);
      assert.notDeepEqual(await readFile(right2), before, "right2's own session replaced the foreign one");
      assert.equal(statSync(right2).mode & 0o777, 0o600);
      assert.equal(existsSync(oldFormat), false);
    } finally {
      for (const e of engines) e.close();
    }
  });

  test("output to a file that stdout and stderr share, appended to, and to a reader that goes: as the Node build's", async () => {
    // The executable writes to a regular file on another thread (src/runtime/fs.bun.ts); the
    // order of the two streams' lines in one file must still be the order they were written in.
    const store = join(root, 'file-output');
    const env = cleanEnv({ MACHINE_STORAGE_PATH: store });
    await noneMachines(store, ['m1']);
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const outputs: string[] = [];
    for (const [name, cmd] of [
      ['node', `${q(process.execPath)} ${q(binPath)}`],
      ['exe', q(exe)],
    ]) {
      const file = join(root, `shared-${name}.out`);
      await writeFile(file, 'kept\n');
      const script = [
        `${cmd} --debug url m1 >> ${q(file)} 2>&1`,
        `${cmd} --debug ls >> ${q(file)} 2>&1`,
        `${cmd} url nope >> ${q(file)} 2>&1`,
        `${cmd} ls | head -c 1 > /dev/null; echo "ls into head: $\{PIPESTATUS[0]}" >> ${q(file)}`,
      ].join('\n');
      const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      // Timings differ between any two runs.
      outputs.push((await readFile(file, 'utf8')).replace(/\d+(\.\d+)?\s?m?s\b/g, 'T'));
    }
    assert.match(outputs[0], /^kept\n.*Running command url.*\ntcp:\/\/127\.0\.0\.1:1\n/s);
    assert.match(outputs[0], /ls into head: 0\n$/);
    assert.equal(outputs[1], outputs[0]);
  });

  test('a non-blocking pipe that fills while the reader waits gets every byte once, as from the Node build', async () => {
    // The writer's side of the pipe set non-blocking (as some parents leave it) and a reader that
    // starts late: writes meet EAGAIN. Bun 1.4.5 wrote part of a large buffer twice there.
    const store = join(root, 'nonblocking');
    await noneMachines(store, ['a1', 'a2', 'a3']);
    const template = `{{.Name}} ${'x'.repeat(60_000)}`;
    const expected = ['a1', 'a2', 'a3'].map((n) => `${n} ${'x'.repeat(60_000)}\n`).join('');
    const nonBlocking =
      'use Fcntl; my $f = fcntl(STDOUT, F_GETFL, 0) or die "$!"; fcntl(STDOUT, F_SETFL, $f | O_NONBLOCK) or die "$!"; exec @ARGV or die "$!"';
    const through = async (label: string, cmd: string[]): Promise<string> => {
      const fifo = join(root, `fifo-${label}`);
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const child = spawn(
        'sh',
        [
          '-c',
          'f=$1; shift; exec perl -e "$0" "$@" > "$f"',
          nonBlocking,
          fifo,
          ...cmd,
          'ls',
          '-t',
          '1',
          '--format',
          template,
        ],
        {
          env: cleanEnv({ MACHINE_STORAGE_PATH: store }),
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const reader = createReadStream(fifo);
      reader.pause();
      // The pipe (64 KiB) fills long before this.
      await new Promise((r) => setTimeout(r, 500));
      const chunks: Buffer[] = [];
      reader.on('data', (c) => chunks.push(c as Buffer));
      const ended = new Promise<void>((r) => reader.on('end', () => r()));
      reader.resume();
      await ended;
      assert.equal(await exited, 0, stderr);
      return Buffer.concat(chunks).toString('utf8');
    };
    const fromNode = await through('node', [process.execPath, binPath]);
    const fromExe = await through('exe', [exe]);
    assert.equal(fromNode.length, expected.length);
    assert.ok(fromNode === expected, 'the Node build wrote what ls formats');
    assert.equal(fromExe.length, expected.length);
    assert.ok(fromExe === expected, 'the executable wrote what the Node build wrote');
  });

  test('answers exactly as the Node build does', async () => {
    assert.equal(basename(exe), 'docker-machine', 'name the executable docker-machine, as users install it');
    const store = join(root, 'same-store');
    const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runProcess(process.execPath, [binPath, ...args], { env: { MACHINE_STORAGE_PATH: store, ...env } });
    const standalone = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runProcess(exe, args, { env: { MACHINE_STORAGE_PATH: store, ...env } });
    const made = await node(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'm1']);
    assert.equal(made.code, 0, made.stderr);
    const cases: [string[], NodeJS.ProcessEnv?][] = [
      [['--version']],
      [['version']],
      [['--help']],
      [['help', 'create']],
      [['create', '-d', 'none', '--help']],
      [['create', '-d', 'docker', '--help']],
      [['create', '-d', 'qemu', '--help']],
      [['ls']],
      [['ls', '-q']],
      // Not json: its ResponseTimeMs differs between any two runs.
      [['ls', '--format', '{{.Name}} {{.State}} {{.URL}} {{.DockerVersion}} {{.Error}}']],
      [['ls', '--filter', 'nope']],
      [['ls', '-t', '0']],
      [['inspect', 'm1']],
      [['inspect', '-f', '{{.Driver.URL}}', 'm1']],
      [['url', 'm1']],
      [['ip', 'm1']],
      [['status', 'm1']],
      [['active'], { DOCKER_HOST: 'tcp://127.0.0.1:1' }],
      [['env', '-u', '--shell', 'fish']],
      [['env', 'm1']],
      [['config', 'm1']],
      [['env', 'nope']],
      [['bogus']],
      [['ls', '--bogus']],
      [['rm', 'm1'], {}],
      [['stop', 'm1']],
      [['create', '-d', 'none', 'm2']],
    ];
    for (const [args, env] of cases) {
      const [a, b] = await Promise.all([node(args, env), standalone(args, env)]);
      assert.deepEqual(b, a, `docker-machine ${args.join(' ')}`);
    }
  });
});
