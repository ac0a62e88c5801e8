import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { cacheDir, type HostEngine, startHostEngine, testHostsAvailable } from '../helpers/testhost.js';

// Machines as containers on a dockerd of the test's own (its own bridge and address pool, no
// iptables), never the machine's default engine. The driver builds its image with debootstrap
// from Debian's mirror on first use; the store's image cache is shared across runs.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create -d docker: machines as containers', { skip, timeout: 40 * 60_000 }, () => {
  let s: CliStore;
  let engine: HostEngine;
  let dockerHost: string;

  before(async () => {
    const pool = `172.29.${Math.floor(Math.random() * 256)}.0/24`;
    engine = await startHostEngine({ dockerdArgs: ['--default-address-pool', `base=${pool},size=26`] });
    dockerHost = `unix://${engine.dockerd.socket}`;
    // Containers outlive a killed engine (their shims keep running): remove the engine's own.
    // A user-defined network leaves its Linux bridge behind when the engine stops: remove them too.
    onProcessEnd(() => {
      const list = (args: string[]) =>
        // After a normal end the engine is gone already: nothing to list, nothing to say.
        execFileSync('docker', ['-H', dockerHost, ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .split('\n')
          .filter(Boolean);
      const ids = list(['ps', '-aq']);
      if (ids.length)
        execFileSync('docker', ['-H', dockerHost, 'rm', '-f', '-v', ...ids], { stdio: 'ignore' });
      const nets = list(['network', 'ls', '-q', '--filter', 'type=custom']);
      if (nets.length)
        execFileSync('docker', ['-H', dockerHost, 'network', 'rm', ...nets], { stdio: 'ignore' });
    });
    s = await tempStore();
    // The driver's image cache (a debootstrap root file system) outlives this store.
    const shared = join(cacheDir(), 'docker-driver');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'docker-driver'));
  });

  after(async () => {
    const ids = (await engine?.docker(['ps', '-aq']).catch(() => ''))?.split('\n').filter(Boolean) ?? [];
    if (ids.length) await engine.docker(['rm', '-f', '-v', ...ids]).catch(() => '');
    const nets = (await engine?.docker(['network', 'ls', '-q', '--filter', 'type=custom']).catch(() => ''))
      ?.split('\n')
      .filter(Boolean);
    if (nets?.length) await engine.docker(['network', 'rm', ...nets]).catch(() => '');
    await engine?.stop();
    await s?.cleanup();
  });

  const create = (name: string, extra: string[] = []) =>
    s.run(['create', '-d', 'docker', '--docker-host', dockerHost, ...extra, name], { timeoutMs: 900_000 });

  const withEnv = (name: string, script: string) =>
    runProcess('bash', ['-c', `eval "$("${process.execPath}" "${binPath}" env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
      timeoutMs: 120_000,
    });

  const outer = async (args: string[]) => (await engine.docker(args)).trim();

  const sshPortOf = async (name: string): Promise<number> =>
    JSON.parse(await readFile(join(s.dir, 'machines', name, 'config.json'), 'utf8')).Driver.SSHPort;

  /** The first line a TCP server on 127.0.0.1:port sends. */
  const banner = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port });
      const t = setTimeout(() => sock.destroy(new Error(`no banner on ${port} within 10 s`)), 10_000);
      sock.once('data', (d) => {
        clearTimeout(t);
        sock.destroy();
        resolve(d.toString());
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });

  test('create makes a container with its own engine, provisioned over SSH with TLS', async () => {
    const r = await create('m1');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of [
      'Running pre-create checks...',
      'Creating machine...',
      '(m1) Creating SSH key...',
      '(m1) Finding the machine image...',
      '(m1) Starting the container...',
      'Waiting for machine to be running, this may take a few minutes...',
      'Provisioning with debian...',
      'Docker is up and running!',
    ]) {
      assert.ok(r.stdout.split('\n').includes(line), `missing "${line}" in:\n${r.stdout}`);
    }
    const config = JSON.parse(await readFile(join(s.dir, 'machines', 'm1', 'config.json'), 'utf8'));
    assert.equal(config.DriverName, 'docker');
    const d = config.Driver;
    assert.equal(d.DockerHost, dockerHost);
    assert.match(d.ContainerID, /^[0-9a-f]{64}$/);
    assert.equal(await outer(['inspect', '-f', '{{.State.Status}} {{.Name}}', d.ContainerID]), 'running /m1');
    // Both ports on 127.0.0.1 only, as recorded.
    assert.equal(await outer(['port', d.ContainerID, '22']), `127.0.0.1:${d.SSHPort}`);
    assert.equal(await outer(['port', d.ContainerID, '2376']), `127.0.0.1:${d.EnginePort}`);
    const url = await s.run(['url', 'm1']);
    assert.equal(url.stdout, `tcp://127.0.0.1:${d.EnginePort}\n`);
    assert.equal((await s.run(['ip', 'm1'])).stdout, '127.0.0.1\n');
    const ssh = await s.run(['ssh', 'm1', 'hostname && cat /root/.ssh/authorized_keys']);
    assert.equal(ssh.code, 0, ssh.stderr);
    const pub = await readFile(join(s.dir, 'machines', 'm1', 'id_rsa.pub'), 'utf8');
    assert.equal(ssh.stdout, `m1\n${pub}`);
    // The image itself carries no SSH key and no host key: each machine gets its own.
    const image = await outer(['inspect', '-f', '{{.Config.Image}}', d.ContainerID]);
    const inImage = await outer([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      image,
      '-c',
      'ls -A /root/.ssh | wc -l; ls /etc/ssh | grep -c ssh_host_ || true',
    ]);
    assert.equal(inImage, '0\n0');
  });

  test('docker run through env; ls shows Running with the engine version', async () => {
    const r = await withEnv(
      'm1',
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.DockerVersion}}']);
    assert.equal(ls.stdout, 'm1 docker Running v20.10.24+dfsg1\n');
  });

  test('rm removes the container and its volume, and nothing else', async () => {
    const config = JSON.parse(await readFile(join(s.dir, 'machines', 'm1', 'config.json'), 'utf8'));
    const { ContainerID: id, VolumeName: volume } = config.Driver;
    assert.equal(await outer(['volume', 'inspect', '-f', '{{.Name}}', volume]), volume);
    const r = await s.run(['rm', '-y', 'm1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await outer(['ps', '-aq', '--filter', `id=${id}`]), '');
    assert.equal(await outer(['volume', 'ls', '-q', '--filter', `name=${volume}`]), '');
    // The machines' network stays for the others.
    assert.equal(
      await outer(['network', 'ls', '-q', '--filter', 'name=^docker-machine$']).then((x) => x !== ''),
      true,
    );
    const ls = await s.run(['ls', '-q']);
    assert.equal(ls.stdout, '');
  });

  test('three machines created in parallel, each with its own engine', async () => {
    const sshPublish = await freePort();
    const names = ['p1', 'p2', 'p3'];
    const results = await Promise.all(
      names.map((n) =>
        create(
          n,
          n === 'p3'
            ? ['--docker-publish', `${sshPublish}:22`]
            : n === 'p2'
              ? ['--docker-cpus', '1.5', '--docker-memory', '768']
              : [],
        ),
      ),
    );
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `${names[i]}: ${r.stdout}\n${r.stderr}`);
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.State}} {{.DockerVersion}}']);
    assert.equal(ls.stdout, names.map((n) => `${n} Running v20.10.24+dfsg1\n`).join(''));
    assert.equal(
      await outer(['inspect', '-f', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}', 'p2']),
      `1500000000 ${768 * 1024 * 1024}`,
    );
    const hostKeys = await Promise.all(
      names.map(
        async (n) => (await readFile(join(s.dir, 'machines', n, 'known_hosts'), 'utf8')).split(' ')[2],
      ),
    );
    assert.equal(new Set(hostKeys).size, 3, 'each machine has host keys of its own');
    for (const n of names) {
      const r = await withEnv(
        n,
        `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --rm busybox echo hello from ${n}`,
      );
      assert.deepEqual([r.code, r.stdout], [0, `hello from ${n}\n`], r.stderr);
    }
    const started = await withEnv('p1', 'docker run -d --name only-on-p1 busybox sleep 100000');
    assert.equal(started.code, 0, started.stderr);
    for (const n of names) {
      const r = await withEnv(n, "docker ps -a --filter name=only-on-p1 --format '{{.Names}}'");
      assert.equal(r.stdout, n === 'p1' ? 'only-on-p1\n' : '', `${n}: ${r.stderr}`);
    }
    // --docker-publish: p3's sshd also answers on the extra port, on 127.0.0.1.
    const bound = (await outer(['port', 'p3', '22'])).split('\n').sort();
    assert.deepEqual(bound, [`127.0.0.1:${await sshPortOf('p3')}`, `127.0.0.1:${sshPublish}`].sort());
    assert.match(await banner(sshPublish), /^SSH-2\.0-OpenSSH/);
  });

  test('two machines reach each other on the network; the server certificate names address and name', async () => {
    const netId = await outer(['network', 'inspect', '-f', '{{.Id}}', 'docker-machine']);
    const bridge = `br-${netId.slice(0, 12)}`;
    const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    execFileSync('iptables', ['-I', ...rule]);
    const dropRule = onProcessEnd(() => execFileSync('iptables', ['-D', ...rule], { stdio: 'ignore' }));
    try {
      const ip2 = await outer([
        'inspect',
        '-f',
        '{{(index .NetworkSettings.Networks "docker-machine").IPAddress}}',
        'p2',
      ]);
      assert.match(ip2, /^172\.29\.\d+\.\d+$/);
      for (const f of ['ca.pem', 'cert.pem', 'key.pem'])
        await outer(['cp', join(s.dir, 'certs', f), `p1:/tmp/${f}`]);
      for (const target of ['p2', ip2]) {
        const r = await s.run([
          'ssh',
          'p1',
          `docker --tlsverify --tlscacert /tmp/ca.pem --tlscert /tmp/cert.pem --tlskey /tmp/key.pem -H tcp://${target}:2376 version --format '{{.Server.Version}}'`,
        ]);
        assert.deepEqual([r.code, r.stdout], [0, '20.10.24+dfsg1\n'], `${target}: ${r.stderr}`);
      }
    } finally {
      dropRule();
      execFileSync('iptables', ['-D', ...rule]);
    }
  });

  test("stop and start keep the inner engine's images and containers; kill then start works", async () => {
    const stop = await s.run(['stop', 'p1'], { timeoutMs: 180_000 });
    assert.equal(stop.code, 0, `${stop.stdout}\n${stop.stderr}`);
    assert.equal((await s.run(['status', 'p1'])).stdout, 'Stopped\n');
    assert.equal(await outer(['inspect', '-f', '{{.State.Status}}', 'p1']), 'exited');
    const start = await s.run(['start', 'p1'], { timeoutMs: 180_000 });
    assert.equal(start.code, 0, `${start.stdout}\n${start.stderr}`);
    assert.equal((await s.run(['status', 'p1'])).stdout, 'Running\n');
    const after = await withEnv(
      'p1',
      "docker ps -a --format '{{.Names}}' && docker images --format '{{.Repository}}'",
    );
    assert.equal(after.stdout, 'only-on-p1\nbusybox\n', after.stderr);

    const kill = await s.run(['kill', 'p2'], { timeoutMs: 120_000 });
    assert.equal(kill.code, 0, `${kill.stdout}\n${kill.stderr}`);
    assert.equal((await s.run(['status', 'p2'])).stdout, 'Stopped\n');
    const again = await s.run(['start', 'p2'], { timeoutMs: 180_000 });
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    const r = await withEnv('p2', 'docker run --rm busybox echo back');
    assert.deepEqual([r.code, r.stdout], [0, 'back\n'], r.stderr);
  });

  const leftovers = async (name: string) =>
    [
      await outer(['ps', '-aq', '--filter', `label=io.docker-machine.name=${name}`]),
      await outer(['volume', 'ls', '-q', '--filter', `label=io.docker-machine.name=${name}`]),
    ].join('');

  test('a create killed at any step leaves a machine that rm -y removes with no container or volume left', async () => {
    // Each create is killed the moment it prints the line that opens a step.
    const steps = [
      'Running pre-create checks...',
      'Creating machine...',
      ') Creating SSH key...',
      ') Finding the machine image...',
      ') Creating volume ',
      ') Creating container ',
      ') Starting the container...',
      'Waiting for SSH to be available...',
      'Copying certs to the remote machine...',
      'Setting Docker configuration on the remote daemon...',
    ];
    for (const [i, line] of steps.entries()) {
      const name = `killed${i}`;
      const child = spawn(
        process.execPath,
        [binPath, 'create', '-d', 'docker', '--docker-host', dockerHost, name],
        {
          env: { ...process.env, MACHINE_STORAGE_PATH: s.dir },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const closed = new Promise((r) => child.once('close', r));
      let seen = '';
      const watch = (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes(line)) child.kill('SIGKILL');
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      const bound = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await closed;
      clearTimeout(bound);
      assert.ok(seen.includes(line), `create never printed "${line}":\n${seen}`);
      const names = (await readdir(join(s.dir, 'machines'))).filter((n) => !n.startsWith('.'));
      if (names.includes(name)) {
        const r = await s.run(['rm', '-y', name]);
        assert.equal(r.code, 0, `killed at "${line}": ${r.stderr}`);
      }
      assert.equal(await leftovers(name), '', `killed at "${line}": something is left`);
    }
    assert.equal((await s.run(['ls', '-q'])).stdout, 'p1\np2\np3\n');
  });

  test('bad input: an engine that does not answer, a name taken, an image without systemd, a port taken', async () => {
    const gone = await s.run([
      'create',
      '-d',
      'docker',
      '--docker-host',
      'unix:///nonexistent/docker.sock',
      'bad',
    ]);
    assert.deepEqual(
      [gone.code, gone.stderr],
      [
        3,
        'Error with pre-create check: "Cannot connect to the Docker engine at unix:///nonexistent/docker.sock: no socket at /nonexistent/docker.sock (is the engine running?); give --docker-host the address of a running engine"\n',
      ],
    );
    const refused = await s.run(['create', '-d', 'docker', '--docker-host', 'tcp://127.0.0.1:1', 'bad']);
    assert.deepEqual(
      [refused.code, refused.stderr],
      [
        3,
        'Error with pre-create check: "Cannot connect to the Docker engine at tcp://127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; give --docker-host the address of a running engine"\n',
      ],
    );

    await outer(['import', busyboxTarball(), 'dm-busybox']);
    const takenId = await outer(['create', '--name', 'taken', 'dm-busybox', 'sleep', '1']);
    const taken = await create('taken');
    assert.deepEqual(
      [taken.code, taken.stderr],
      [
        3,
        `Error with pre-create check: "a container named \\"taken\\" already exists on the Docker engine at ${dockerHost}; remove it or choose another machine name"\n`,
      ],
    );
    assert.equal(
      await outer(['inspect', '-f', '{{.Id}}', 'taken']),
      takenId,
      'the other container is left alone',
    );

    const nosys = await create('nosys', ['--docker-image', 'dm-busybox']);
    assert.deepEqual(
      [nosys.code, nosys.stderr],
      [
        1,
        "Error creating machine: Error in driver during machine creation: image dm-busybox has no systemd (/lib/systemd/systemd): the docker driver runs machines with systemd and sshd; leave out --docker-image to use the driver's own image\n",
      ],
    );
    assert.equal((await s.run(['rm', '-y', 'nosys'])).code, 0);
    assert.equal(await leftovers('nosys'), '');

    const port = await freePort();
    const server = createServer().listen(port, '127.0.0.1');
    await once(server, 'listening');
    try {
      const busy = await create('busy', ['--docker-publish', `${port}:80`]);
      assert.deepEqual(
        [busy.code, busy.stderr],
        [
          3,
          `Error with pre-create check: "port ${port} on 127.0.0.1 is already in use; choose another host port for --docker-publish"\n`,
        ],
      );
    } finally {
      server.close();
    }
    const cpus = await create('bad', ['--docker-cpus', 'lots']);
    assert.deepEqual(
      [cpus.code, cpus.stderr],
      [
        1,
        'Error setting machine configuration from flags provided: --docker-cpus lots: expected a number of CPUs, e.g. 2 or 1.5\n',
      ],
    );
    const publish = await create('bad', ['--docker-publish', '80:http']);
    assert.deepEqual(
      [publish.code, publish.stderr],
      [
        1,
        'Error setting machine configuration from flags provided: --docker-publish 80:http: expected HOSTPORT[:CONTAINERPORT][/tcp|/udp], e.g. 8080:80 (published on 127.0.0.1)\n',
      ],
    );
    assert.equal((await s.run(['ls', '-q'])).stdout, 'p1\np2\np3\n');
  });

  test('rm of the remaining machines leaves no container or volume of theirs', async () => {
    const r = await s.run(['rm', '-y', 'p1', 'p2', 'p3'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    for (const n of ['p1', 'p2', 'p3']) assert.equal(await leftovers(n), '');
    assert.equal((await s.run(['ls', '-q'])).stdout, '');
  });
});
