import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateServerCert } from '../../src/cert/server.js';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import { type Dockerd, dockerdAvailable, startDockerd } from '../helpers/dockerd.js';
import { freePort } from '../helpers/ports.js';

// A real dockerd (Debian's docker.io) serving TLS on a loopback port with a server certificate
// issued by the store's own CA, behind a `none` machine, and the real docker client pointed at it.
const skip = dockerdAvailable() ? false : 'needs dockerd and root (npm test installs docker.io)';

describe('none machine in front of a real dockerd', { skip }, () => {
  let s: CliStore;
  let d: Dockerd;
  let work: string;
  let blackhole: Server;
  const held: Socket[] = [];
  let url: string;

  before(async () => {
    s = await tempStore();
    work = await mkdtemp(join(tmpdir(), 'dm-e2e-'));
    const port = await freePort();
    url = `tcp://127.0.0.1:${port}`;
    const c = await s.run(['create', '-d', 'none', '--url', url, 'dm']);
    assert.equal(c.code, 0, c.stderr);
    await generateServerCert({
      caCertPath: join(s.dir, 'certs', 'ca.pem'),
      caKeyPath: join(s.dir, 'certs', 'ca-key.pem'),
      certPath: join(work, 'server.pem'),
      keyPath: join(work, 'server-key.pem'),
      org: 'unknown.dm',
      hosts: ['127.0.0.1', 'localhost'],
    });
    d = await startDockerd({
      caCertPath: join(s.dir, 'certs', 'ca.pem'),
      serverCertPath: join(work, 'server.pem'),
      serverKeyPath: join(work, 'server-key.pem'),
      port,
      apiOnly: true,
    });
    // An engine that accepts connections and never answers: only the timeout can end its row.
    blackhole = createServer((sock) => {
      held.push(sock);
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    for (const sock of held) sock.destroy();
    blackhole?.close();
    await d?.stop();
    await s?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const dockerEnv = () => ({ DOCKER_CONFIG: join(work, 'docker-config') });

  test('ls shows the machine Running with its engine version', async () => {
    const r = await s.run(['ls']);
    assert.equal(r.code, 0, r.stderr);
    const row = r.stdout.split('\n').find((l) => l.startsWith('dm '));
    assert.ok(row, r.stdout);
    assert.match(
      row,
      new RegExp(`^dm\\s+-\\s+none\\s+Running\\s+${url.replaceAll('.', '\\.')}\\s+v20\\.10\\.\\d+\\S*\\s*$`),
    );
    assert.match((await s.run(['version', 'dm'])).stdout, /^20\.10\.\d+\S*\n$/);
  });

  test('eval "$(docker-machine env NAME)" && docker version works with the real docker client', async () => {
    const r = await runProcess(
      'bash',
      [
        '-c',
        `eval "$("${process.execPath}" "${binPath}" env dm)" && docker version --format '{{.Server.Version}}'`,
      ],
      { env: { MACHINE_STORAGE_PATH: s.dir, ...dockerEnv() } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^20\.10\.\d+\S*\n$/);
  });

  test('the machine is a docker context: docker --context, use and use -u with the real docker client', async () => {
    // create wrote it beside the store (tempStore's DOCKER_CONFIG); no env, no DOCKER_HOST.
    const contextEnv = { DOCKER_CONFIG: join(s.dir, 'docker-config') };
    const docker = (args: string[]) => runProcess('docker', args, { env: contextEnv });
    const inspect = await docker(['context', 'inspect', 'dm']);
    assert.equal(inspect.code, 0, inspect.stderr);
    const [c] = JSON.parse(inspect.stdout);
    assert.equal(c.Endpoints.docker.Host, url);
    assert.deepEqual(c.Metadata, {
      Description: 'docker-machine dm (none)',
      DockerMachine: { Store: s.dir },
    });
    assert.deepEqual(c.TLSMaterial, { docker: ['ca.pem', 'cert.pem', 'key.pem'] });
    const byFlag = await docker(['--context', 'dm', 'version', '--format', '{{.Server.Version}}']);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.match(byFlag.stdout, /^20\.10\.\d+\S*\n$/);

    const use = await s.run(['use', 'dm']);
    assert.equal(use.code, 0, use.stderr);
    assert.equal(use.stdout, 'Current docker context is now "dm"\n');
    const current = await docker(['version', '--format', '{{.Server.Version}}']);
    assert.equal(current.code, 0, current.stderr);
    assert.match(current.stdout, /^20\.10\.\d+\S*\n$/);
    assert.equal((await docker(['context', 'show'])).stdout, 'dm\n');
    // DOCKER_HOST outranks the current context in the docker CLI: use says so.
    const shadowed = await s.run(['use', 'dm'], { env: { DOCKER_HOST: 'tcp://127.0.0.1:1' } });
    assert.match(
      shadowed.stderr,
      /Warning: DOCKER_HOST is set in this shell and overrides the current context/,
    );

    const back = await s.run(['use', '-u']);
    assert.equal(back.stdout, 'Current docker context is now "default"\n');
    assert.equal((await docker(['context', 'show'])).stdout, 'default\n');
  });

  test('env prints the original lines for each shell', async () => {
    const bash = await s.run(['env', 'dm']);
    assert.equal(
      bash.stdout,
      `export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="${url}"\nexport DOCKER_CERT_PATH="${join(s.dir, 'machines', 'dm')}"\n` +
        'export DOCKER_MACHINE_NAME="dm"\n# Run this command to configure your shell: \n# eval $(docker-machine env dm)\n',
    );
    const fish = await s.run(['env', '--shell', 'fish', 'dm']);
    assert.match(fish.stdout, /^set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "tcp:/);
    const ps = await s.run(['env', '--shell', 'powershell', 'dm']);
    assert.match(ps.stdout, /^\$Env:DOCKER_TLS_VERIFY = "1"\n/);
    const cmd = await s.run(['env', '--shell', 'cmd', 'dm']);
    assert.match(cmd.stdout, /^SET DOCKER_TLS_VERIFY=1\n/);
    assert.match(
      cmd.stdout,
      /REM \t@FOR \/f "tokens=\*" %i IN \('docker-machine env --shell cmd dm'\) DO @%i\n$/,
    );
    const np = await s.run(['env', '--no-proxy', 'dm'], { env: { NO_PROXY: 'localhost' } });
    assert.match(np.stdout, new RegExp(`\\nexport NO_PROXY="localhost,127\\.0\\.0\\.1:${d.port}"\\n`));
    // With SHELL unset the original failed; we print sh syntax and say so on stderr.
    const noShell = await s.run(['env', 'dm'], { env: { SHELL: '' } });
    assert.equal(noShell.code, 0);
    assert.match(noShell.stdout, /^export DOCKER_TLS_VERIFY="1"\n/);
    assert.match(noShell.stderr, /--shell/);
  });

  test('docker $(docker-machine config NAME) version works', async () => {
    const cfg = await s.run(['config', 'dm']);
    assert.equal(cfg.code, 0, cfg.stderr);
    const dir = join(s.dir, 'machines', 'dm');
    assert.equal(
      cfg.stdout,
      `--tlsverify\n--tlscacert="${dir}/ca.pem"\n--tlscert="${dir}/cert.pem"\n--tlskey="${dir}/key.pem"\n-H=${url}\n`,
    );
    const r = await runProcess(
      'bash',
      ['-c', `docker $("${process.execPath}" "${binPath}" config dm) version --format '{{.Server.Version}}'`],
      { env: { MACHINE_STORAGE_PATH: s.dir, ...dockerEnv() } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^20\.10\.\d+\S*\n$/);
  });

  test('a closed port is an error row; an engine that never answers is a Timeout row within --timeout', async () => {
    const closed = await freePort();
    const hole = (blackhole.address() as { port: number }).port;
    assert.equal(
      (await s.run(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${closed}`, 'closed'])).code,
      0,
    );
    const mk = await s.run(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${hole}`, 'hole']);
    assert.equal(mk.code, 0, mk.stderr);
    const started = Date.now();
    const r = await s.run(['ls', '--timeout', '2']);
    const elapsed = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    const rows = Object.fromEntries(
      r.stdout
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => [l.split(/\s+/)[0], l]),
    );
    assert.match(
      rows.closed,
      /^closed\s+-\s+none\s+Running\s+tcp:\S+\s+Unknown\s+Unable to query docker version: Cannot connect to the docker engine endpoint/,
    );
    assert.match(rows.hole, /^hole\s+none\s+Timeout\s*$/);
    assert.match(rows.dm, /Running.*v20\.10\.\d+/);
    // Bounded by the 2 s timeout (plus start-up), not by a TCP or TLS default of 20 s or more.
    assert.ok(elapsed < 8000, `ls took ${elapsed} ms with --timeout 2`);
  });
});
