/**
 * The linux-arm64 single-file executable, run on an x86-64 host under qemu-user
 * (qemu-aarch64-static, with the arm64 C library of Debian's libc6-arm64-cross): the light
 * commands, a none-driver machine from create to rm, and env/config against a real dockerd with
 * TLS and against an engine of another CA, each answering exactly as the Node build does for the
 * same store. Set DM_TEST_ARM64_BIN to dist/standalone/docker-machine-linux-arm64 copied as
 * docker-machine (scripts/test.sh does); the x64 executable's own tests are standalone.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateServerCert } from '../../src/cert/server.js';
import { binPath, type RunResult, runProcess } from '../helpers/cli.js';
import { type Dockerd, dockerdAvailable, startDockerd } from '../helpers/dockerd.js';
import { freePort } from '../helpers/ports.js';
import { makeTestCA } from '../helpers/test-ca.js';

const exe = process.env.DM_TEST_ARM64_BIN ? resolve(process.env.DM_TEST_ARM64_BIN) : undefined;
const qemu = (process.env.PATH ?? '')
  .split(delimiter)
  .map((d) => join(d, 'qemu-aarch64-static'))
  .find((p) => existsSync(p));
// Where qemu-user finds the executable's dynamic loader and C library: the cross package's
// folder, or the host's own root where arm64 is a multiarch architecture.
const sysroot = ['/usr/aarch64-linux-gnu', '/'].find((r) =>
  existsSync(join(r, 'lib', 'ld-linux-aarch64.so.1')),
);

const skip =
  exe === undefined
    ? 'set DM_TEST_ARM64_BIN to the linux-arm64 executable (node scripts/build-standalone.mjs --target linux-arm64)'
    : qemu === undefined
      ? 'needs qemu-aarch64-static on the PATH (Debian: apt-get install qemu-user-static)'
      : sysroot === undefined
        ? 'needs an arm64 C library for qemu-user (Debian: apt-get install libc6-arm64-cross)'
        : false;

// The qemu driver runs this computer's own qemu-system: the one line of help that names it
// differs by architecture, on purpose.
const hostQemu = process.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';

describe('the linux-arm64 executable under qemu-user', { skip }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-arm64-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  // Emulated, a command takes about a second of CPU: the bound leaves room for a loaded machine.
  const arm64 = (store: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runProcess(qemu!, ['-L', sysroot!, exe!, ...args], {
      env: { MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(store, 'docker-config'), ...env },
      timeoutMs: 120_000,
    });
  const node = (store: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runProcess(process.execPath, [binPath, ...args], {
      env: { MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(store, 'docker-config'), ...env },
    });

  test('it is an arm64 program, named as users install it', async () => {
    assert.equal(basename(exe!), 'docker-machine', 'copy it as docker-machine: help and env print its name');
    const file = await open(exe!);
    const { buffer: header } = await file.read(Buffer.alloc(20), 0, 20, 0).finally(() => file.close());
    assert.equal(header.subarray(0, 4).toString('latin1'), '\x7fELF');
    assert.equal(header.readUInt16LE(18), 183, 'e_machine is not EM_AARCH64');
  });

  test('none driver from create to rm, and the light commands, as the Node build', async () => {
    // Two stores whose paths have the same length: the executable's and the Node build's own.
    const armStore = join(root, 'store-a');
    const nodeStore = join(root, 'store-n');
    const sameIn = (r: RunResult, from: string, to: string): RunResult => ({
      code: r.code,
      stdout: r.stdout.replaceAll(from, to),
      stderr: r.stderr.replaceAll(from, to),
    });
    const both = async (args: string[]) => {
      const [a, n] = await Promise.all([arm64(armStore, args), node(nodeStore, args)]);
      return [a, sameIn(n, nodeStore, armStore)];
    };

    const [made, nodeMade] = await both(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'm1']);
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(made, nodeMade, 'create');
    assert.ok(existsSync(join(armStore, 'machines', 'm1', 'config.json')));

    // The Node build reads the store the executable wrote, and both say the same of it.
    // One emulated command costs about a second of CPU: few commands, each a code path of its own.
    const cases: string[][] = [
      ['--version'],
      ['--help'],
      // The one arch-dependent line: this proves the program sees itself as arm64.
      ['help', 'create'],
      ['ls'],
      ['url', 'm1'],
      ['ip', 'm1'],
      ['inspect', 'm1'],
      // Nothing listens at port 1: the error path of the engine check.
      ['env', 'm1'],
    ];
    for (const args of cases) {
      const [a, n] = await Promise.all([arm64(armStore, args), node(armStore, args)]);
      const expected =
        args[0] === 'help' && args[1] === 'create'
          ? {
              ...n,
              stdout: n.stdout.replace(
                `when ${hostQemu} is installed`,
                'when qemu-system-aarch64 is installed',
              ),
            }
          : n;
      assert.deepEqual(a, expected, `docker-machine ${args.join(' ')}`);
      if (args[0] === 'url') assert.equal(a.stdout, 'tcp://127.0.0.1:1\n');
      if (args[0] === 'help') assert.match(a.stdout, /when qemu-system-aarch64 is installed/);
    }

    const [removed, nodeRemoved] = await both(['rm', '-y', 'm1']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(removed, nodeRemoved, 'rm -y');
    assert.equal(existsSync(join(armStore, 'machines', 'm1')), false);
    assert.equal((await node(armStore, ['ls', '-q'])).stdout, '');
  });

  describe('env and config against a real dockerd with TLS', {
    skip: dockerdAvailable() ? false : 'needs dockerd and root (npm test installs docker.io)',
  }, () => {
    let store: string;
    let d: Dockerd;
    let foreign: HttpsServer | undefined;

    before(async () => {
      store = join(root, 'tls-store');
      await mkdir(store, { recursive: true });
      const port = await freePort();
      // The executable makes the store's CA and client certificate; the engine's server
      // certificate is issued by that CA.
      const c = await arm64(store, ['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, 'dm']);
      assert.equal(c.code, 0, c.stderr);
      await generateServerCert({
        caCertPath: join(store, 'certs', 'ca.pem'),
        caKeyPath: join(store, 'certs', 'ca-key.pem'),
        certPath: join(root, 'server.pem'),
        keyPath: join(root, 'server-key.pem'),
        org: 'unknown.dm',
        hosts: ['127.0.0.1', 'localhost'],
      });
      d = await startDockerd({
        caCertPath: join(store, 'certs', 'ca.pem'),
        serverCertPath: join(root, 'server.pem'),
        serverKeyPath: join(root, 'server-key.pem'),
        port,
        apiOnly: true,
      });
      // An engine whose certificate another CA issued: env and config must refuse it.
      await makeTestCA(root, 'other-ca');
      const other = join(root, 'other-ca');
      await generateServerCert({
        caCertPath: join(other, 'ca.pem'),
        caKeyPath: join(other, 'ca-key.pem'),
        certPath: join(root, 'foreign.pem'),
        keyPath: join(root, 'foreign-key.pem'),
        org: 'test',
        hosts: ['127.0.0.1'],
      });
      const server = createHttpsServer(
        {
          cert: await readFile(join(root, 'foreign.pem')),
          key: await readFile(join(root, 'foreign-key.pem')),
          ca: await readFile(join(other, 'ca.pem')),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (_req, res) => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })),
      );
      foreign = server;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const fport = (server.address() as AddressInfo).port;
      const f = await arm64(store, ['create', '-d', 'none', '--url', `tcp://127.0.0.1:${fport}`, 'foreign']);
      assert.equal(f.code, 0, f.stderr);
    });

    after(async () => {
      foreign?.close();
      await d?.stop();
    });

    test("env, config and ls print what the Node build prints; another CA's engine fails alike", async () => {
      // Another CA trusted through the environment must not make its certificates pass.
      const env = { NODE_EXTRA_CA_CERTS: join(root, 'other-ca', 'ca.pem') };
      const seen = new Map<string, RunResult>();
      for (const args of [['env', 'dm'], ['config', 'dm'], ['env', 'foreign'], ['ls']]) {
        const [a, n] = await Promise.all([arm64(store, args, env), node(store, args, env)]);
        assert.deepEqual(a, n, `docker-machine ${args.join(' ')}`);
        assert.equal(a.code, args[1] === 'foreign' ? 1 : 0, `${args.join(' ')}: ${a.stderr}`);
        seen.set(args.join(' '), a);
      }
      const dir = join(store, 'machines', 'dm');
      assert.equal(
        seen.get('config dm')?.stdout,
        `--tlsverify\n--tlscacert="${dir}/ca.pem"\n--tlscert="${dir}/cert.pem"\n--tlskey="${dir}/key.pem"\n-H=${d.url}\n`,
      );
      assert.match(seen.get('env foreign')?.stderr ?? '', /certificate/i);
      assert.match(seen.get('ls')?.stdout ?? '', /^dm\s+-\s+none\s+Running\s+tcp:\S+\s+v20\.10\.\d+/m);
    });

    test('eval "$(docker-machine env dm)" && docker version reaches the engine', async () => {
      const command = [qemu!, '-L', sysroot!, exe!].map((a) => `'${a}'`).join(' ');
      const r = await runProcess(
        'bash',
        ['-c', `eval "$(${command} env dm)" && docker version --format '{{.Server.Version}}'`],
        {
          env: { MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(root, 'docker-client') },
          timeoutMs: 120_000,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^20\.10\.\d+\S*\n$/);
    });

    test('rm -y removes both machines', async () => {
      const r = await arm64(store, ['rm', '-y', 'dm', 'foreign']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await node(store, ['ls', '-q'])).stdout, '');
    });
  });
});
