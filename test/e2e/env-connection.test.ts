import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateServerCert } from '../../src/cert/server.js';
import type { HostConfig } from '../../src/store/host.js';
import { cliShell, type RunResult, runCLI, runProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

// The CLI against a TLS engine of the test's own (a Node HTTPS server with a certificate of the
// store's CA), in a store whose path holds what a shell would run: env's output evaluated by
// real shells, env --swarm with nothing on the swarm port, the wording of an engine that refuses
// connections, and `active` with a machine that does not answer in time.

const installed = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('env, ls, version and active against a TLS engine of our own', { timeout: 5 * 60_000 }, () => {
  let root: string;
  let store: string;
  let marks: string;
  let engine: HttpsServer;
  let enginePort: number;
  let closedPort: number;
  let url: string;
  let blocker: ChildProcess | undefined;
  const held: Socket[] = [];

  const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    runCLI(args, { env: { MACHINE_STORAGE_PATH: store, ...env } });
  const ran = async () => (await readdir(marks)).filter((f) => f.startsWith('ran-'));
  const editConfig = async (name: string, edit: (c: HostConfig) => void) => {
    const file = join(store, 'machines', name, 'config.json');
    const c = JSON.parse(await readFile(file, 'utf8')) as HostConfig;
    edit(c);
    await writeFile(file, JSON.stringify(c, null, 2));
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-envconn-'));
    marks = join(root, 'marks');
    await mkdir(marks);
    // Every construct that would run a command in one shell or another, with the quotes and
    // spaces that end a quoted word early, and a newline.
    store = join(
      root,
      `st $(touch ${marks}/ran-1) \`touch ${marks}/ran-2\` "q" 's' back\\slash !x %P% & ;`,
      `line2\n; touch ${marks}/ran-3`,
    );
    await mkdir(store, { recursive: true });
    enginePort = await freePort();
    closedPort = await freePort();
    url = `tcp://127.0.0.1:${enginePort}`;
    for (const [name, u] of [
      ['m1', url],
      ['closed', `tcp://127.0.0.1:${closedPort}`],
    ]) {
      const c = await run(['create', '-d', 'none', '--url', u, name]);
      assert.equal(c.code, 0, c.stderr);
    }
    await generateServerCert({
      caCertPath: join(store, 'certs', 'ca.pem'),
      caKeyPath: join(store, 'certs', 'ca-key.pem'),
      certPath: join(root, 'server.pem'),
      keyPath: join(root, 'server-key.pem'),
      org: 'test',
      hosts: ['127.0.0.1'],
    });
    engine = createHttpsServer(
      {
        cert: await readFile(join(root, 'server.pem')),
        key: await readFile(join(root, 'server-key.pem')),
        ca: await readFile(join(store, 'certs', 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' })),
    );
    await new Promise<void>((r) => engine.listen(enginePort, '127.0.0.1', r));
  });

  after(async () => {
    for (const s of held) s.destroy();
    if (blocker?.pid) process.kill(blocker.pid, 'SIGKILL');
    engine?.close();
    await rm(root, { recursive: true, force: true });
  });

  const dumpScript = async () => {
    const dump = join(root, 'dump.cjs');
    await writeFile(
      dump,
      'process.stdout.write(JSON.stringify(["DOCKER_TLS_VERIFY","DOCKER_HOST","DOCKER_CERT_PATH","DOCKER_MACHINE_NAME"].map((n) => process.env[n])))',
    );
    return dump;
  };

  test('eval of env in bash, dash, zsh, fish and tcsh: nothing in the store path runs, the values are exact', async () => {
    const dump = await dumpScript();
    const want = ['1', url, join(store, 'machines', 'm1'), 'm1'];
    const dm = cliShell;
    const cases: [string, string[], string][] = [
      ['bash', ['bash', '-c'], `eval "$(${dm} env m1)" && "${process.execPath}" "${dump}"`],
      ['dash', ['dash', '-c'], `eval "$(${dm} env m1)" && "${process.execPath}" "${dump}"`],
      ['zsh', ['zsh', '-f', '-c'], `eval "$(${dm} env m1)" && "${process.execPath}" "${dump}"`],
      [
        'fish',
        ['fish', '-N', '-c'],
        `${cliShell} env --shell fish m1 | source; and '${process.execPath}' '${dump}'`,
      ],
      [
        'tcsh',
        ['tcsh', '-f', '-c'],
        `${cliShell} env --shell tcsh m1 > '${root}/env.csh' && source '${root}/env.csh' && '${process.execPath}' '${dump}'`,
      ],
    ];
    let tried = 0;
    for (const [shell, argv, script] of cases) {
      if (!installed(shell)) continue;
      tried++;
      const r = await runProcess(argv[0] ?? '', [...argv.slice(1), script], {
        env: { MACHINE_STORAGE_PATH: store, SHELL: `/bin/${shell}` },
      });
      assert.equal(r.code, 0, `${shell}: ${r.stderr}`);
      assert.deepEqual(await ran(), [], `${shell}: a command in the store path ran`);
      assert.deepEqual(JSON.parse(r.stdout), want, shell);
    }
    assert.ok(tried >= 2, 'bash and dash at least');
  });

  test("a token given to the app never shows in env's hint line", async () => {
    for (const args of [
      ['--github-api-token', 'ghp_SeCrEt1', 'env', 'm1'],
      ['--github-api-token=ghp_SeCrEt1', '--bugsnag-api-token', 'bs_SeCrEt2', 'env', '--shell', 'fish', 'm1'],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /SeCrEt/);
      assert.match(r.stdout, /docker-machine env (--shell fish )?m1\)\n$/);
    }
  });

  test('env --swarm: valid certificates and nothing on the swarm port is "swarm not started", not a certificate error', async () => {
    await editConfig('m1', (c) => {
      Object.assign(c.HostOptions.SwarmOptions, {
        IsSwarm: true,
        Master: true,
        Host: `tcp://0.0.0.0:${closedPort}`,
      });
    });
    const r = await run(['env', '--swarm', 'm1']);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [
        1,
        '',
        'Error checking TLS connection: Connection to Swarm cannot be checked but the certs are valid. Maybe swarm is not started\n',
      ],
    );
    // With the engine itself refusing too, the certificates cannot be said valid: the original's
    // certificate message, for the swarm port.
    await editConfig('closed', (c) => {
      Object.assign(c.HostOptions.SwarmOptions, {
        IsSwarm: true,
        Master: true,
        Host: 'tcp://0.0.0.0:1',
      });
    });
    const both = await run(['env', '--swarm', 'closed']);
    assert.equal(both.code, 1);
    assert.match(
      both.stderr,
      /^Error checking TLS connection: Error checking and\/or regenerating the certs: There was an error validating certificates for host "127\.0\.0\.1:1": dial tcp 127\.0\.0\.1:1: connect: connection refused\n/,
    );
  });

  test('an engine that refuses connections: ls gives the reason without repeating the URL, version NAME gives both', async () => {
    const ls = await run(['ls', '--format', '{{.Name}}|{{.URL}}|{{.Error}}', '--filter', 'name=closed']);
    assert.equal(
      ls.stdout,
      `closed|tcp://127.0.0.1:${closedPort}|Unable to query docker version: Cannot connect to the docker engine endpoint: connect: connection refused\n`,
    );
    const v = await run(['version', 'closed']);
    assert.deepEqual(
      [v.code, v.stderr],
      [
        1,
        `Unable to query docker version: Cannot connect to the docker engine endpoint tcp://127.0.0.1:${closedPort}: dial tcp 127.0.0.1:${closedPort}: connect: connection refused\n`,
      ],
    );
    const env = await run(['env', 'closed']);
    assert.match(
      env.stderr,
      /You can attempt to regenerate them using 'docker-machine regenerate-certs closed'\.\n/,
    );
  });

  test('machines that share an engine: ls asks it once, every row has its answer, and the next ls resumes the TLS session', async () => {
    const names = ['s1', 's2', 's3', 's4', 's5'];
    for (const n of names) {
      const c = await run(['create', '-d', 'none', '--url', url, n]);
      assert.equal(c.code, 0, c.stderr);
    }
    const seen = { requests: 0, connections: 0, resumed: 0 };
    const onRequest = () => seen.requests++;
    const onConnection = (s: { isSessionReused(): boolean }) => {
      seen.connections++;
      if (s.isSessionReused()) seen.resumed++;
    };
    engine.on('request', onRequest);
    engine.on('secureConnection', onConnection);
    try {
      const expected = ['m1', ...names].map((n) => `${n}|-|Running|${url}|v20.10.24|\n`).join('');
      const args = [
        'ls',
        '--format',
        '{{.Name}}|{{.Active}}|{{.State}}|{{.URL}}|{{.DockerVersion}}|{{.Error}}',
      ];
      const first = await run([...args, '--filter', 'name=^(m1|s[0-9])$']);
      assert.deepEqual([first.code, first.stdout, first.stderr], [0, expected, '']);
      assert.deepEqual([seen.requests, seen.connections], [1, 1]);
      // The first may resume the session an earlier env kept; the second resumes the first's.
      const resumedBefore = seen.resumed;
      const second = await run([...args, '--filter', 'name=^(m1|s[0-9])$']);
      assert.deepEqual([second.code, second.stdout], [0, expected]);
      assert.deepEqual([seen.requests, seen.connections, seen.resumed - resumedBefore], [2, 2, 1]);
    } finally {
      engine.off('request', onRequest);
      engine.off('secureConnection', onConnection);
      await run(['rm', '-y', ...names]);
    }
  });

  test('active -t 1 with a machine that does not answer in time: "Error getting active host: timeout"', async () => {
    // A listener whose process never accepts: once its backlog is full, a connect to it hangs
    // (its SYNs are dropped), as to a host that has gone away, all on 127.0.0.1.
    blocker = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').createServer();
         s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
           process.stdout.write(String(s.address().port) + '\\n', () =>
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((resolve) =>
      blocker?.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    for (let i = 0; i < 4; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 300));
    await run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'gone']);
    await editConfig('gone', (c) => {
      c.DriverName = 'generic';
      c.Driver = { ...c.Driver, IPAddress: '127.0.0.1', SSHPort: port, SSHUser: 'root', EnginePort: 2376 };
    });
    for (const dockerHost of [undefined, 'tcp://10.0.0.9:2376']) {
      const started = Date.now();
      const r = await run(['active', '-t', '1'], dockerHost ? { DOCKER_HOST: dockerHost } : {});
      assert.deepEqual(
        [r.code, r.stdout, r.stderr],
        [1, '', 'Error getting active host: timeout\n'],
        dockerHost,
      );
      assert.ok(Date.now() - started < 8000, `bounded by -t 1 (${Date.now() - started} ms)`);
    }
    // The machine that answers is still found.
    const found = await run(['active', '-t', '1'], { DOCKER_HOST: url });
    assert.deepEqual([found.code, found.stdout], [0, 'm1\n']);
  });
});
