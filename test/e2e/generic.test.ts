import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, cliArgs, cliProgram, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { genericCreateArgs, type HostRig, startHostRig } from '../helpers/generic-rig.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

// A real Debian host (systemd, sshd, Debian's docker.io) in a container on an engine of the
// test's own, reached only through ports published on 127.0.0.1.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create -d generic on a host that already runs Docker', { skip, timeout: 15 * 60_000 }, () => {
  let s: CliStore;
  let rig: HostRig;
  let host: TestHost;
  let work: string;
  let key: string;
  let enginePort: number;

  before(async () => {
    rig = await startHostRig({ prefix: 'generic', withDocker: true });
    ({ work, key } = rig);
    host = rig.hosts[0];
    enginePort = host.ports[0];
    s = await tempStore();
  });

  after(async () => {
    await rig?.stop();
    await s?.cleanup();
  });

  const dockerEnv = () => ({ DOCKER_CONFIG: join(work, 'docker-config') });

  test('create adopts the engine: TLS on the engine port, options applied, the original progress lines', async () => {
    const r = await s.run(
      genericCreateArgs(host, key, 'gen1', ['--engine-label', 'team=blue', '--tls-san', 'extra.example']),
      { timeoutMs: 300_000 },
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of [
      'Running pre-create checks...',
      'Creating machine...',
      '(gen1) Importing SSH key...',
      'Waiting for machine to be running, this may take a few minutes...',
      'Detecting operating system of created instance...',
      'Waiting for SSH to be available...',
      'Detecting the provisioner...',
      'Provisioning with debian...',
      'Copying certs to the local machine directory...',
      'Copying certs to the remote machine...',
      'Setting Docker configuration on the remote daemon...',
      'Checking connection to Docker...',
      'Docker is up and running!',
    ]) {
      assert.ok(r.stdout.split('\n').includes(line), `missing "${line}" in:\n${r.stdout}`);
    }
    assert.match(r.stdout, /Docker already installed \(Docker version 20\.10/);
    const dir = join(s.dir, 'machines', 'gen1');
    assert.equal((await stat(join(dir, 'id_rsa'))).mode & 0o777, 0o600);
    assert.match(
      await readFile(join(dir, 'known_hosts'), 'utf8'),
      new RegExp(`^\\[127\\.0\\.0\\.1\\]:${host.sshPort} `),
    );
    assert.equal((await stat(join(dir, 'server-key.pem'))).mode & 0o777, 0o600);
  });

  test('ls, env and docker through TLS; engine labels in docker info', async () => {
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.State}} {{.URL}} {{.DockerVersion}}']);
    assert.equal(ls.stdout, `gen1 Running tcp://127.0.0.1:${enginePort} v20.10.24+dfsg1\n`);
    const r = await runProcess(
      'bash',
      ['-c', `eval "$(${cliShell} env gen1)" && docker info --format '{{json .Labels}}'`],
      { env: { MACHINE_STORAGE_PATH: s.dir, ...dockerEnv() } },
    );
    assert.equal(r.code, 0, r.stderr);
    const labels = JSON.parse(r.stdout) as string[];
    assert.ok(labels.includes('team=blue'), r.stdout);
    assert.ok(labels.includes('provider=generic'), r.stdout);
  });

  test('a client without our certificates is refused; the served certificate names the extra SAN', async () => {
    const plain = await runProcess('docker', ['-H', `tcp://127.0.0.1:${enginePort}`, 'version'], {
      env: dockerEnv(),
    });
    assert.notEqual(plain.code, 0);
    const ca = await readFile(join(s.dir, 'certs', 'ca.pem'));
    const san = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: enginePort, ca, servername: 'extra.example' }, () => {
        const cert = sock.getPeerCertificate();
        sock.destroy();
        resolve(cert.subjectaltname ?? '');
      });
      sock.on('error', reject);
    });
    assert.equal(san, 'DNS:extra.example, IP Address:127.0.0.1, DNS:localhost');
  });

  test('ssh runs a command and passes its exit code through', async () => {
    const hello = await s.run(['ssh', 'gen1', '--', 'echo', 'hello', 'from', '$(hostname)']);
    assert.deepEqual([hello.code, hello.stdout], [0, 'hello from gen1\n']);
    const fail = await s.run(['ssh', 'gen1', 'exit 3']);
    assert.equal(fail.code, 3);
    assert.equal(fail.stderr, '');
    const native = await s.run(['--native-ssh', 'ssh', 'gen1', 'echo native; exit 4']);
    assert.deepEqual([native.code, native.stdout], [4, 'native\n']);
  });

  const withEnv = (script: string) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env gen1)" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, ...dockerEnv() },
      timeoutMs: 120_000,
    });

  const servedSerial = async (): Promise<string> => {
    const ca = await readFile(join(s.dir, 'certs', 'ca.pem'));
    return new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: enginePort, ca, servername: 'localhost' }, () => {
        const serial = sock.getPeerCertificate().serialNumber;
        sock.destroy();
        resolve(serial);
      });
      sock.on('error', reject);
    });
  };

  test('docker run --rm busybox echo hello through TLS (image imported from Debian busybox-static)', async () => {
    const imp = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.stdout, 'hello\n');
  });

  test('regenerate-certs serves a new certificate and containers keep running', async () => {
    const started = await withEnv(
      "docker run --pull=never -d --name keep busybox sleep 100000 >/dev/null && docker inspect -f '{{.State.StartedAt}}' keep",
    );
    assert.equal(started.code, 0, started.stderr);
    const before = await servedSerial();
    const noAnswer = await s.run(['regenerate-certs', 'gen1']);
    assert.deepEqual([noAnswer.code, noAnswer.stderr], [1, 'EOF\n']);
    const r = await s.run(['regenerate-certs', '-f', 'gen1'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /^Regenerating TLS certificates\nWaiting for SSH to be available\.\.\.\nDetecting the provisioner\.\.\.\n/,
    );
    assert.ok(!r.stdout.includes('Installing Docker'), 'no reinstall');
    assert.notEqual(await servedSerial(), before);
    const after = await withEnv("docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keep");
    assert.equal(after.stdout, `true ${started.stdout}`);
  });

  test('provision runs again on a machine and the engine answers after it', async () => {
    // The drop-in (its time and inode), systemd's last reload (create made one), the engine's last start.
    const state = async () => {
      const [dropIn, reload, start] = (
        await host.exec(
          "stat -c '%y %i' /etc/systemd/system/docker.service.d/10-machine.conf; systemctl show -p UnitsLoadTimestampMonotonic --value; systemctl show -p ExecMainStartTimestampMonotonic --value docker",
        )
      )
        .trim()
        .split('\n');
      assert.ok(dropIn && Number(reload) > 0 && Number(start) > 0, `${dropIn} ${reload} ${start}`);
      return { dropIn, reload, start };
    };
    // Four engine starts in a row, one more than docker.service allows in 60 s without the
    // reset of its start counter that daemon-reload made.
    for (const client of [[], ['--native-ssh'], [], ['--native-ssh']]) {
      const before = await state();
      const r = await s.run([...client, 'provision', 'gen1'], { timeoutMs: 180_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /Provisioning with debian\.\.\./);
      // The drop-in systemd runs with is kept as it is, with no daemon-reload; the engine restarts.
      const after = await state();
      assert.deepEqual([after.dropIn, after.reload], [before.dropIn, before.reload], client.join(' '));
      assert.notEqual(after.start, before.start);
    }
    const v = await withEnv("docker version --format '{{.Server.Version}}'");
    assert.equal(v.stdout, '20.10.24+dfsg1\n');
    const missing = await s.run(['provision', 'gen1', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Docker machine "nope" does not exist/);
  });

  test('missing --generic-ip-address and a missing key are clear errors', async () => {
    const noIp = await s.run(['create', '-d', 'generic', 'gen2']);
    assert.deepEqual(
      [noIp.code, noIp.stderr],
      [
        1,
        'Error setting machine configuration from flags provided: generic driver requires the --generic-ip-address option\n',
      ],
    );
    const noKey = await s.run([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-key',
      '/nonexistent',
      'gen2',
    ]);
    assert.deepEqual(
      [noKey.code, noKey.stderr],
      [3, 'Error with pre-create check: "SSH key does not exist: \\"/nonexistent\\""\n'],
    );
  });

  test('a changed host key is refused with a clear error', async () => {
    const kh = join(s.dir, 'machines', 'gen1', 'known_hosts');
    const pinned = await readFile(kh, 'utf8');
    const other = join(work, 'other_key');
    await generateSSHKeyPair(other);
    const fake = (await readFile(`${other}.pub`, 'utf8')).trim();
    await writeFile(kh, `[127.0.0.1]:${host.sshPort} ${fake}\n`);
    try {
      for (const native of [false, true]) {
        const r = await s.run([...(native ? ['--native-ssh'] : []), 'ssh', 'gen1', 'true']);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(
            `^SSH host key for \\[127\\.0\\.0\\.1\\]:${host.sshPort} changed: expected SHA256:\\S+, got SHA256:\\S+; if the machine was re-created on purpose, remove \\S+known_hosts and retry\\n$`,
          ),
        );
      }
    } finally {
      await writeFile(kh, pinned);
    }
  });

  test('wrong key and unreachable SSH port fail within the wait timeout, naming what failed; rm -y cleans up', async () => {
    const other = join(work, 'wrong_key');
    await generateSSHKeyPair(other);
    const started = Date.now();
    const wrong = await s.run([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      String(host.sshPort),
      '--generic-ssh-key',
      other,
      '--wait-timeout',
      '20',
      'wrongkey',
    ]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      new RegExp(
        `^Error creating machine: SSH authentication failed for root@127\\.0\\.0\\.1:${host.sshPort} with key \\S+wrong_key\\n$`,
      ),
    );
    assert.ok(Date.now() - started < 15_000, 'a refused key is not retried until the timeout');
    const closed = await s.run([
      'create',
      '-d',
      'generic',
      '--generic-ip-address',
      '127.0.0.1',
      '--generic-ssh-port',
      '1',
      '--wait-timeout',
      '3',
      'closed',
    ]);
    assert.equal(closed.code, 1);
    assert.equal(
      closed.stderr,
      'Error creating machine: Waited 3 s for machine "closed" to be running (SSH at 127.0.0.1:1); last seen: state Stopped\n',
    );
    for (const n of ['wrongkey', 'closed']) {
      const rm = await s.run(['rm', '-y', n]);
      assert.equal(rm.code, 0, rm.stderr);
    }
  });

  test('a create killed at any step leaves a machine that rm -y removes', async () => {
    // Each create is killed the moment it prints the line that opens a step, so every step of
    // create is interrupted once, whatever the speed of the machine.
    const steps = [
      'Running pre-create checks...',
      'Creating machine...',
      'Waiting for SSH to be available...',
      'Copying certs to the remote machine...',
      'Setting Docker configuration on the remote daemon...',
    ];
    for (const [i, line] of steps.entries()) {
      const name = `killed${i}`;
      const child = spawn(cliProgram, [...cliArgs, ...genericCreateArgs(host, key, name)], {
        env: { ...process.env, MACHINE_STORAGE_PATH: s.dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const closed = new Promise((r) => child.once('close', r));
      let seen = '';
      const watch = (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes(line)) child.kill('SIGKILL');
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await closed;
      clearTimeout(bound);
      const names = (await readdir(join(s.dir, 'machines'))).filter((n) => !n.startsWith('.'));
      if (!names.includes(name)) continue; // killed before it claimed the name: nothing to clean
      const rm = await s.run(['rm', '-y', name]);
      assert.equal(rm.code, 0, `killed at "${line}": ${rm.stderr}`);
      assert.ok(!(await readdir(join(s.dir, 'machines'))).includes(name));
    }
    // The host's engine still answers for the machine that stayed.
    const v = await withEnv("docker version --format '{{.Server.Version}}'");
    assert.equal(v.code, 0, v.stderr);
  });

  test('rm removes the machine and leaves the host and its engine running', async () => {
    assert.equal((await s.run(['rm', '-y', 'gen1'])).code, 0);
    assert.equal((await host.exec('systemctl is-active docker')).trim(), 'active');
  });
});
