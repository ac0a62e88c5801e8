import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { genericCreateArgs, type HostRig, startHostRig } from '../helpers/generic-rig.js';
import { lazy } from '../helpers/lazy.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

// docs/ssh-engines.md: a generic host whose engine gets no TCP port; every client (ours, the
// docker CLI through env and through the context) reaches it over the machine's SSH. The
// docker CLI's ssh reads the user's real ssh config (ssh takes it from the password database,
// whatever HOME says): the test checks that rm leaves that file exactly as it found it.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

const USER_SSH_DIR = join(userInfo().homedir, '.ssh');
const USER_SSH_CONFIG = join(USER_SSH_DIR, 'config');
const sshDirBefore = existsSync(USER_SSH_DIR);
const userConfig = async () => (existsSync(USER_SSH_CONFIG) ? readFile(USER_SSH_CONFIG, 'utf8') : undefined);

after(() => {
  // Only a folder this file's creates made, and only when empty.
  if (!sshDirBefore && existsSync(USER_SSH_DIR) && readdirSync(USER_SSH_DIR).length === 0)
    rmdirSync(USER_SSH_DIR);
});

describe('create --engine-endpoint ssh on a generic host', { skip, timeout: 15 * 60_000 }, () => {
  let s: CliStore;
  let rig: HostRig;
  let host: TestHost;
  let url: string;
  let configBefore: string | undefined;

  // Started by the first test that runs (not in before: see helpers/lazy.ts), so that a run of
  // the Swarm test alone does not build this host.
  const fixture = lazy(
    async () => {
      configBefore = await userConfig();
      rig = await startHostRig({ prefix: 'sshengine', withDocker: true });
      host = rig.hosts[0];
      url = `ssh://root@127.0.0.1:${host.sshPort}`;
      s = await tempStore();
    },
    async () => {
      await s?.run(['rm', '-y', '-f', 'sshe']).catch(() => undefined);
      await rig.stop();
      await s?.cleanup();
    },
  );
  beforeEach(() => fixture.get());
  after(() => fixture.stop());

  const dockerConfig = () => join(s.dir, 'docker-config');
  const shell = (script: string) =>
    runProcess('bash', ['-c', script], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: dockerConfig() },
      timeoutMs: 120_000,
    });

  test('create provisions an engine with no TCP port and no server certificate', async () => {
    const r = await s.run(genericCreateArgs(rig.hosts[0], rig.key, 'sshe', ['--engine-endpoint', 'ssh']), {
      timeoutMs: 300_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split('\n');
    assert.ok(
      lines.includes('The engine is reached over SSH only: it gets no TLS port and no server certificate'),
      r.stdout,
    );
    assert.ok(!lines.includes('Copying certs to the remote machine...'), r.stdout);
    assert.ok(lines.includes('Docker is up and running!'), r.stdout);
    const dir = join(s.dir, 'machines', 'sshe');
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.HostOptions.EngineOptions.EngineEndpoint, 'ssh');
    assert.ok(!existsSync(join(dir, 'server.pem')));

    // On the host: the drop-in names only the socket, and nothing listens but sshd.
    const dropIn = await host.exec('cat /etc/systemd/system/docker.service.d/10-machine.conf');
    assert.doesNotMatch(dropIn, /tcp:\/\/|--tls/);
    const listening = await host.exec('ss -Hltnp');
    assert.doesNotMatch(listening, /:2376\b/);
    assert.doesNotMatch(listening, /dockerd/);
    assert.match(
      await host.exec('docker -H unix:///var/run/docker.sock version -f {{.Server.Version}}'),
      /^20\./,
    );
    assert.ok(!existsSync(join(dir, 'server.pem')));
  });

  test('url, config, env, ls, active and version show and use ssh://USER@HOST:PORT', async (t) => {
    assert.equal((await s.run(['url', 'sshe'])).stdout, `${url}\n`);
    assert.equal((await s.run(['config', 'sshe'])).stdout, `-H=${url}\n`);
    const env = await s.run(['env', '--shell', 'bash', 'sshe']);
    assert.equal(env.code, 0, env.stderr);
    assert.equal(
      env.stdout.split('\n').slice(0, 4).join('\n'),
      `unset DOCKER_TLS_VERIFY\nexport DOCKER_HOST="${url}"\nunset DOCKER_CERT_PATH\nexport DOCKER_MACHINE_NAME="sshe"`,
    );
    const started = Date.now();
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.State}} {{.URL}} {{.DockerVersion}} {{.Error}}']);
    t.diagnostic(`ls with one SSH-only machine: ${Date.now() - started} ms`);
    assert.equal(ls.stdout, `sshe Running ${url} v20.10.24+dfsg1 \n`);
    const active = await s.run(['active'], { env: { DOCKER_HOST: url } });
    assert.deepEqual([active.code, active.stdout], [0, 'sshe\n']);
    const version = await s.run(['version', 'sshe']);
    assert.deepEqual([version.code, version.stdout], [0, '20.10.24+dfsg1\n']);
  });

  test('eval $(env), then docker run and docker ps over SSH; docker --context too', async () => {
    const run = await shell(
      `eval "$(${cliShell} env sshe)" && docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello && docker run --pull=never -d --name keep busybox sleep 100000 >/dev/null && docker ps --format '{{.Names}}'`,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello\nkeep\n');
    const ctx = await shell('docker --context sshe ps --format "{{.Names}} {{.Image}}"');
    assert.equal(ctx.code, 0, ctx.stderr);
    assert.equal(ctx.stdout, 'keep busybox\n');
    const inspect = await shell(
      'docker context inspect sshe -f "{{.Endpoints.docker.Host}} {{len .TLSMaterial}}"',
    );
    assert.equal(inspect.stdout, `${url} 0\n`);
  });

  test('the docker CLI gets the machine key and the pinned host key from the ssh config entry', async () => {
    const entry = await readFile(join(s.dir, 'machines', 'sshe', 'ssh_config'), 'utf8');
    assert.match(
      entry,
      new RegExp(`^Match originalhost 127\\.0\\.0\\.1 user root exec "test %p = ${host.sshPort}"$`, 'm'),
    );
    assert.match(entry, /^ {2}StrictHostKeyChecking yes$/m);
    assert.match(
      entry,
      new RegExp(`^ {2}UserKnownHostsFile ${join(s.dir, 'machines', 'sshe', 'known_hosts')}$`, 'm'),
    );
    const user = await readFile(USER_SSH_CONFIG, 'utf8');
    assert.ok(user.startsWith(`# BEGIN docker-machine store ${s.dir}\n`), user);
    assert.ok(user.endsWith(configBefore ?? ''), 'the user config keeps what it had, after the block');
    // The pin is enforced: with another key in the machine's known_hosts ssh refuses the host.
    const known = join(s.dir, 'machines', 'sshe', 'known_hosts');
    const pinned = await readFile(known, 'utf8');
    try {
      const other = join(rig.work, 'other_host_key');
      await shell(
        `ssh-keygen -q -t ed25519 -N '' -f ${other} && echo "[127.0.0.1]:${host.sshPort} $(cut -d' ' -f1,2 ${other}.pub)" > ${known}`,
      );
      const refused = await shell(`docker -H ${url} ps`);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION/);
    } finally {
      await shell(`cat > ${known} <<'EOF'\n${pinned}EOF`);
    }
  });

  test('regenerate-certs says in one line that there is no server certificate', async () => {
    const r = await s.run(['regenerate-certs', '-f', 'sshe']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sshe has no server certificate: its engine is reached over SSH only/);
  });

  test('rm removes the ssh config entry, the Include and the context; the user file is as before', async () => {
    const r = await s.run(['rm', '-y', 'sshe']);
    assert.equal(r.code, 0, r.stderr);
    if (configBefore === undefined) assert.ok(!existsSync(USER_SSH_CONFIG));
    else assert.equal(await readFile(USER_SSH_CONFIG, 'utf8'), configBefore);
    const ctx = await shell('docker context ls -q');
    assert.doesNotMatch(ctx.stdout, /^sshe$/m);
  });
});

describe('Swarm mode on an SSH-only engine (docker driver)', { skip, timeout: 15 * 60_000 }, () => {
  let rig: EngineRig;

  // Likewise: a run of the generic host's tests alone does not build this engine.
  const fixture = lazy(
    async () => {
      rig = await startEngineRig({ poolPrefix: '172.23' });
    },
    async () => {
      await rig.store.run(['rm', '-y', '-f', 'swssh']).catch(() => undefined);
      await rig.stop();
    },
  );
  beforeEach(() => fixture.get());
  after(() => fixture.stop());

  test('create --swarm-master inits the cluster through SSH; docker node ls through env', async () => {
    const before = await userConfig();
    const r = await rig.create('swssh', ['--engine-endpoint', 'ssh', '--swarm-master']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Initialising Swarm cluster "swssh"/);
    const url = (await rig.store.run(['url', 'swssh'])).stdout.trim();
    assert.match(url, /^ssh:\/\/root@127\.0\.0\.1:\d+$/);
    // The container publishes its SSH port, which the URL names, and nothing for the engine.
    const published = await rig.outer(['port', 'swssh']);
    assert.equal(published.trim(), `22/tcp -> 127.0.0.1:${new URL(url).port}`);
    const nodes = await rig.withEnv('swssh', "docker node ls --format '{{.Hostname}} {{.ManagerStatus}}'");
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.equal(nodes.stdout, 'swssh Leader\n');
    const ls = await rig.store.run(['ls', '--format', '{{.Name}} {{.State}} {{.URL}} {{.Error}}']);
    assert.equal(ls.stdout, `swssh Running ${url} \n`);
    // With the user's ssh config left alone, env says in one line how docker's ssh gets the key.
    const dir = join(rig.store.dir, 'machines', 'swssh');
    const off = await rig.store.run(['env', '--shell', 'bash', 'swssh'], {
      env: { MACHINE_SSH_USER_CONFIG: 'off' },
    });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, new RegExp(`export DOCKER_HOST="${url}"`));
    assert.equal(
      off.stderr,
      `Warning: MACHINE_SSH_USER_CONFIG is off, so docker's ssh will not find the key and host key of "swssh": run ssh-add "${join(dir, 'id_rsa')}" and add the lines of "${join(dir, 'known_hosts')}" to ~/.ssh/known_hosts, or put this line at the top of ~/.ssh/config: Include ${join(rig.store.dir, 'machines', '*', 'ssh_config')}\n`,
    );
    for (const f of ['ssh_config', 'id_rsa', 'known_hosts']) assert.ok(existsSync(join(dir, f)), f);
    const on = await rig.store.run(['env', '--shell', 'bash', 'swssh']);
    assert.equal(on.stderr, '');
    // rm asks the engine (over SSH) about the cluster: the last manager needs -f.
    const refused = await rig.store.run(['rm', '-y', 'swssh']);
    assert.match(refused.stderr, /swssh is the last manager of Swarm cluster "swssh"/);
    const rm = await rig.store.run(['rm', '-y', '-f', 'swssh']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(await userConfig(), before);
  });
});
