import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball } from '../helpers/busybox.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { type CliStore, cliArgs, cliProgram, cliShell, runProcess, tempStore } from '../helpers/cli.js';
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
    // The engine removes its containers and networks before it stops (helpers/dockerd.ts).
    s = await tempStore();
    // The driver's image cache (a debootstrap root file system) outlives this store.
    const shared = join(cacheDir(), 'docker-driver');
    await mkdir(shared, { recursive: true });
    await mkdir(join(s.dir, 'cache'), { recursive: true });
    await symlink(shared, join(s.dir, 'cache', 'docker-driver'));
  });

  after(async () => {
    await engine?.stop();
    await s?.cleanup();
  });

  const create = (name: string, extra: string[] = []) =>
    s.run(['create', '-d', 'docker', '--docker-host', dockerHost, ...extra, name], { timeoutMs: 900_000 });
  /** One create of several machines: a fleet. */
  const createFleet = (names: string[], extra: string[] = []) =>
    s.run(['create', '-d', 'docker', '--docker-host', dockerHost, ...extra, ...names], {
      timeoutMs: 900_000,
    });

  const withEnv = (name: string, script: string) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
      timeoutMs: 120_000,
    });

  const outer = async (args: string[]) => (await engine.docker(args)).trim();

  const leftovers = async (name: string) =>
    [
      await outer(['ps', '-aq', '--filter', `label=io.docker-machine.name=${name}`]),
      await outer(['volume', 'ls', '-q', '--filter', `label=io.docker-machine.name=${name}`]),
    ].join('');

  const sshPortOf = async (name: string): Promise<number> =>
    JSON.parse(await readFile(join(s.dir, 'machines', name, 'config.json'), 'utf8')).Driver.SSHPort;

  /** The address create recorded for the machine on its network. */
  const recordedAddress = async (name: string): Promise<string> =>
    JSON.parse(await readFile(join(s.dir, 'machines', name, 'config.json'), 'utf8')).Driver.NetworkAddress;

  /** What the container asks for on the machines' network, and what it holds there now. */
  const containerAddress = async (name: string, network = 'docker-machine') => {
    const [asked, holds] = (
      await outer([
        'inspect',
        '-f',
        `{{with (index .NetworkSettings.Networks "${network}")}}{{if .IPAMConfig}}{{.IPAMConfig.IPv4Address}}{{end}}|{{.IPAddress}}{{end}}`,
        name,
      ])
    ).split('|');
    return { asked, holds };
  };

  const ipNumber = (ip: string) => ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
  const inSubnet = (ip: string, cidr: string) => {
    const [base, bits] = cidr.split('/');
    const size = 2 ** (32 - Number(bits));
    return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base) / size);
  };

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
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
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

  test('three machines created in one command run in parallel, each with its own engine', async () => {
    const names = ['p1', 'p2', 'p3'];
    const r = await createFleet(names, ['--docker-cpus', '1.5', '--docker-memory', '768']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Creating 3 machines, 3 at a time: p1, p2, p3');
    for (const n of names) {
      for (const line of [
        'Running pre-create checks...',
        'Creating SSH key...',
        'Docker is up and running!',
      ]) {
        assert.ok(lines.includes(`${n} | ${line}`), `missing "${n} | ${line}" in:\n${r.stdout}`);
      }
    }
    // Every progress line names its machine; the summary closes it.
    const progress = lines.slice(1, -3);
    assert.deepEqual(
      progress.filter((l) => !/^p[123] \| /.test(l)),
      [],
      r.stdout,
    );
    assert.deepEqual(lines.slice(-3), [
      'Created 3 machines: p1, p2, p3',
      'To see how to connect your Docker Client to the Docker Engine running on one of them, run: docker-machine env NAME',
      '',
    ]);
    // They ran at the same time: each one's engine was up only after all three had started.
    const at = (line: string) => lines.indexOf(line);
    for (const n of names) {
      for (const m of names)
        assert.ok(at(`${m} | Starting the container...`) < at(`${n} | Docker is up and running!`));
    }
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.State}} {{.DockerVersion}}']);
    assert.equal(ls.stdout, names.map((n) => `${n} Running v20.10.24+dfsg1\n`).join(''));
    for (const n of names) {
      assert.equal(
        await outer(['inspect', '-f', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}', n]),
        `1500000000 ${768 * 1024 * 1024}`,
      );
    }
    const hostKeys = await Promise.all(
      names.map(
        async (n) => (await readFile(join(s.dir, 'machines', n, 'known_hosts'), 'utf8')).split(' ')[2],
      ),
    );
    assert.equal(new Set(hostKeys).size, 3, 'each machine has host keys of its own');
    for (const n of names) {
      const r = await withEnv(
        n,
        `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello from ${n}`,
      );
      assert.deepEqual([r.code, r.stdout], [0, `hello from ${n}\n`], r.stderr);
    }
    const started = await withEnv('p1', 'docker run --pull=never -d --name only-on-p1 busybox sleep 100000');
    assert.equal(started.code, 0, started.stderr);
    for (const n of names) {
      const r = await withEnv(n, "docker ps -a --filter name=only-on-p1 --format '{{.Names}}'");
      assert.equal(r.stdout, n === 'p1' ? 'only-on-p1\n' : '', `${n}: ${r.stderr}`);
    }
  });

  test('the network has a configured subnet; each machine of the fleet has its own fixed address in it', async () => {
    const [ipam, label] = (
      await outer([
        'network',
        'inspect',
        '-f',
        '{{json .IPAM.Config}}\t{{index .Labels "io.docker-machine.network.addressing"}}',
        'docker-machine',
      ])
    ).split('\t');
    assert.equal(label, 'fixed');
    const config = JSON.parse(ipam) as { Subnet: string; Gateway: string; IPRange: string }[];
    assert.equal(config.length, 1, ipam);
    const { Subnet: subnet, Gateway: gateway, IPRange: range } = config[0];
    // The subnet is the one the engine chose from its pool (172.29.N.0/24 in blocks of /26).
    assert.match(subnet, /^172\.29\.\d+\.(0|64|128|192)\/26$/);
    assert.ok(inSubnet(gateway, subnet), ipam);
    const base = subnet.split('/')[0].split('.').slice(0, 3).join('.');
    const low = Number(subnet.split('/')[0].split('.')[3]);
    assert.equal(
      range,
      `${base}.${low + 32}/27`,
      'the engine hands out addresses of its own from the upper half',
    );

    const addresses = [];
    for (const n of ['p1', 'p2', 'p3']) {
      const recorded = await recordedAddress(n);
      assert.ok(inSubnet(recorded, subnet) && !inSubnet(recorded, range) && recorded !== gateway, recorded);
      assert.deepEqual(await containerAddress(n), { asked: recorded, holds: recorded }, n);
      addresses.push(recorded);
    }
    assert.equal(new Set(addresses).size, 3, `addresses: ${addresses}`);

    // The engine takes a fixed address only on a network with a configured subnet; a container
    // that asks for none gets one from the upper half.
    await outer(['import', busyboxTarball(), 'dm-busybox']);
    const last = `${base}.${low + 62}`;
    const pinned = await outer([
      'run',
      '-d',
      '--network',
      'docker-machine',
      '--ip',
      last,
      'dm-busybox',
      'sleep',
      '600',
    ]);
    const loose = await outer(['run', '-d', '--network', 'docker-machine', 'dm-busybox', 'sleep', '600']);
    try {
      const ipOf = (id: string) =>
        outer(['inspect', '-f', '{{(index .NetworkSettings.Networks "docker-machine").IPAddress}}', id]);
      assert.equal(await ipOf(pinned), last);
      const given = await ipOf(loose);
      assert.ok(inSubnet(given, range), `${given} is outside ${range}`);
    } finally {
      await outer(['rm', '-f', pinned, loose]);
    }
  });

  test('creates in one fleet and in separate processes at once never choose the same address', async () => {
    // One process making four machines and two processes making one each, all at the same time;
    // each is killed once all six containers are starting (what they made is left for rm -y).
    const groups = [['c1', 'c2', 'c3', 'c4'], ['c5'], ['c6']];
    const names = groups.flat();
    let out = '';
    const children = groups.map((g) => {
      const child = spawn(
        cliProgram,
        [...cliArgs, 'create', '-d', 'docker', '--docker-host', dockerHost, ...g],
        {
          env: { ...process.env, MACHINE_STORAGE_PATH: s.dir },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const closed = new Promise((r) => child.once('close', r));
      return { child, closed };
    });
    const killAll = () => {
      for (const { child } of children) child.kill('SIGKILL');
    };
    const starting = (n: string) =>
      out.includes(`${n} | Starting the container...`) || out.includes(`(${n}) Starting the container...`);
    for (const { child } of children) {
      const watch = (d: Buffer) => {
        out += d.toString();
        if (names.every(starting)) killAll();
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
    }
    const bound = setTimeout(killAll, 180_000);
    await Promise.all(children.map((c) => c.closed));
    clearTimeout(bound);
    try {
      assert.ok(names.every(starting), `not every create reached its start:\n${out}`);
      const ours = await Promise.all(['p1', 'p2', 'p3'].map(recordedAddress));
      const theirs = await Promise.all(names.map(recordedAddress));
      assert.equal(new Set([...ours, ...theirs]).size, 9, `addresses: ${ours} and ${theirs}`);
      for (const [i, n] of names.entries()) {
        const { asked, holds } = await containerAddress(n);
        assert.equal(asked, theirs[i], n);
        // Killed while the engine starts it: running at that address, or not yet started.
        assert.ok(holds === theirs[i] || holds === '', `${n} holds ${holds}, not ${theirs[i]}`);
      }
    } finally {
      const rm = await s.run(['rm', '-y', ...names], { timeoutMs: 180_000 });
      assert.equal(rm.code, 0, rm.stderr);
    }
    for (const n of names) assert.equal(await leftovers(n), '', `${n}: something is left`);
  });

  test("networks the driver did not make with a subnet: older ones and the user's", async () => {
    // As an older version made it (its label, the engine's subnet); the user's without a subnet
    // (addresses as the engine gives them); the user's with one (fixed addresses work there).
    await outer(['network', 'create', '--label', 'io.docker-machine.network=true', 'dm-older']);
    await outer(['network', 'create', 'dm-loose']);
    const probe = await outer(['network', 'create', 'dm-subnet']);
    const subnet = await outer(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', probe]);
    await outer(['network', 'rm', probe]);
    await outer(['network', 'create', '--subnet', subnet, 'dm-subnet']);
    const cases = [
      { name: 'older', network: 'dm-older', fixed: false },
      { name: 'loose', network: 'dm-loose', fixed: false },
      { name: 'subnet', network: 'dm-subnet', fixed: true },
    ];
    // Each create is killed once its driver step is done: the container runs, at its address.
    const runs = cases.map(async ({ name, network }) => {
      const child = spawn(
        cliProgram,
        [
          ...cliArgs,
          'create',
          '-d',
          'docker',
          '--docker-host',
          dockerHost,
          '--docker-network',
          network,
          name,
        ],
        { env: { ...process.env, MACHINE_STORAGE_PATH: s.dir }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const closed = new Promise((r) => child.once('close', r));
      let seen = '';
      const watch = (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Waiting for SSH to be available...')) child.kill('SIGKILL');
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      const bound = setTimeout(() => child.kill('SIGKILL'), 180_000);
      await closed;
      clearTimeout(bound);
      return seen;
    });
    const outputs = await Promise.all(runs);
    try {
      for (const [i, { name, network, fixed }] of cases.entries()) {
        const out = outputs[i];
        assert.ok(out.includes('Waiting for SSH to be available...'), `${name}:\n${out}`);
        const note = `(${name}) Network ${network} has no configured subnet, so the engine may give this machine another address on it when it restarts; to pin addresses, remove the machines on it and the network (docker network rm ${network}): the next create makes it again with a fixed subnet`;
        assert.equal(out.split('\n').filter((l) => l === note).length, fixed ? 0 : 1, `${name}:\n${out}`);
        const recorded = await recordedAddress(name);
        const { asked, holds } = await containerAddress(name, network);
        if (fixed) {
          assert.ok(inSubnet(recorded, subnet), `${name} at ${recorded}`);
          assert.deepEqual([asked, holds], [recorded, recorded], name);
        } else {
          // None recorded, none asked for: the engine's choice, in its pool.
          assert.deepEqual(
            [recorded, asked, /^172\.29\./.test(holds)],
            ['', '', true],
            `${name} at ${holds}`,
          );
        }
      }
    } finally {
      const rm = await s.run(['rm', '-y', ...cases.map((c) => c.name)], { timeoutMs: 180_000 });
      assert.equal(rm.code, 0, rm.stderr);
      await outer(['network', 'rm', ...cases.map((c) => c.network)]);
    }
  });

  test('a fleet in which one create fails: the other is made, the failed one is left for rm -y', async () => {
    // One host port for two machines: the first to start takes it, the other cannot start.
    const sshPublish = await freePort();
    const r = await createFleet(['q1', 'q2'], ['--docker-publish', `${sshPublish}:22`]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const made = /^Created 1 of 2 machines: (q[12])$/m.exec(r.stdout)?.[1];
    assert.ok(made, r.stdout);
    const failed = made === 'q1' ? 'q2' : 'q1';
    const errLines = r.stderr.split('\n');
    assert.match(
      errLines[0],
      new RegExp(
        `^Failed to create ${failed}: Error creating machine: Error in driver during machine creation: starting container ${failed}: a published port on 127\\.0\\.0\\.1 is taken \\(.*\\); free it, or recreate the machine with other --docker-publish ports$`,
      ),
    );
    assert.deepEqual(errLines.slice(1), [
      `To remove what the failed creates made, run: docker-machine rm -y ${failed}`,
      '',
    ]);
    // --docker-publish: the machine made answers SSH on the extra port too, on 127.0.0.1.
    const bound = (await outer(['port', made, '22'])).split('\n').sort();
    assert.deepEqual(bound, [`127.0.0.1:${await sshPortOf(made)}`, `127.0.0.1:${sshPublish}`].sort());
    assert.match(await banner(sshPublish), /^SSH-2\.0-OpenSSH/);
    // What the failed create made is recorded: its last container, created and never started.
    assert.equal((await s.run(['status', failed])).stdout, 'Stopped\n');
    const rm = await s.run(['rm', '-y', failed, made], { timeoutMs: 180_000 });
    assert.equal(rm.code, 0, rm.stderr);
    for (const n of ['q1', 'q2']) assert.equal(await leftovers(n), '', `${n}: something is left`);
    assert.equal((await s.run(['ls', '-q'])).stdout, 'p1\np2\np3\n');
  });

  test('SIGTERM during a fleet: every create stops, and what each made is removed by rm -y', async () => {
    const child = spawn(
      cliProgram,
      [...cliArgs, 'create', '-d', 'docker', '--docker-host', dockerHost, 't1', 't2'],
      { env: { ...process.env, MACHINE_STORAGE_PATH: s.dir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      out += d;
      // Both machines are being made: their containers exist and are starting.
      if (
        !sent &&
        out.includes('t1 | Starting the container...') &&
        out.includes('t2 | Starting the container...')
      ) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const bound = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const code = await exited;
    clearTimeout(bound);
    assert.ok(sent, `never saw both containers start:\n${out}\n${err}`);
    assert.equal(code, 143, `${out}\n${err}`);
    const errLines = err.split('\n');
    assert.equal(errLines[0], 'SIGTERM: stopping every create at its next step (once more to exit at once)');
    for (const n of ['t1', 't2']) {
      assert.ok(
        errLines.some((l) => l.startsWith(`Failed to create ${n}: `) && l.includes('interrupted')),
        `${n} not reported as interrupted:\n${err}`,
      );
    }
    assert.ok(
      errLines.includes('To remove what the failed creates made, run: docker-machine rm -y t1 t2'),
      err,
    );
    assert.ok(!out.includes('Docker is up and running!'), out);
    const rm = await s.run(['rm', '-y', 't1', 't2'], { timeoutMs: 180_000 });
    assert.equal(rm.code, 0, rm.stderr);
    for (const n of ['t1', 't2']) assert.equal(await leftovers(n), '', `${n}: something is left`);
  });

  test('--docker-disk-size where the storage driver cannot bound a container: a pre-create error, nothing made', async () => {
    const [driver, status] = (await outer(['info', '-f', '{{.Driver}}\t{{json .DriverStatus}}'])).split('\t');
    const backing = (JSON.parse(status) as [string, string][]).find(([k]) => k === 'Backing Filesystem')?.[1];
    // The test engine's data is on the machine's own file system (ext4 here, as on most hosts).
    assert.deepEqual([driver, backing], ['overlay2', 'extfs']);
    const r = await create('sized', ['--docker-disk-size', '10G']);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [
        3,
        'Running pre-create checks...\n',
        `Error with pre-create check: "--docker-disk-size 10240 MB needs a storage driver that can bound a container's size (devicemapper, btrfs, zfs, or overlay2 on xfs mounted with pquota), and the Docker engine at ${dockerHost} uses overlay2 on extfs; leave out --docker-disk-size, or give --docker-host an engine that stores containers that way"\n`,
      ],
    );
    assert.equal(await leftovers('sized'), '');
    assert.equal((await s.run(['ls', '-q'])).stdout, 'p1\np2\np3\n');
  });

  test('DOCKER_HOST from `env p1`: a warning that the machine would be made inside p1, and create goes on', async () => {
    // The new machine's engine would be p1's: its pre-create check runs there (and refuses the
    // disk size on p1's own overlay2, so nothing is made inside p1).
    const url = (await s.run(['url', 'p1'])).stdout.trim();
    const r = await withEnv('p1', `${cliShell} create -d docker --docker-disk-size 1G nested`);
    assert.equal(
      r.stdout,
      `Warning: DOCKER_HOST (${url}) is the engine of machine "p1" of this store, so the new machine would be made inside "p1"; run 'eval $(docker-machine env -u)' first to use the local engine, or give --docker-host\nRunning pre-create checks...\n`,
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`and the Docker engine at ${url} uses overlay2 on extfs; `));
    assert.equal((await s.run(['ls', '-q'])).stdout, 'p1\np2\np3\n');
  });

  test("stop and start keep the inner engine's images and containers, and each machine's address", async () => {
    // The engine gave each start the lowest free address: the machine started first after both
    // were down took the other's. Here the one with the higher address starts first.
    const before = { p1: await recordedAddress('p1'), p2: await recordedAddress('p2') };
    const stop = await s.run(['stop', 'p1'], { timeoutMs: 180_000 });
    assert.equal(stop.code, 0, `${stop.stdout}\n${stop.stderr}`);
    assert.equal((await s.run(['status', 'p1'])).stdout, 'Stopped\n');
    assert.equal(await outer(['inspect', '-f', '{{.State.Status}}', 'p1']), 'exited');
    const kill = await s.run(['kill', 'p2'], { timeoutMs: 120_000 });
    assert.equal(kill.code, 0, `${kill.stdout}\n${kill.stderr}`);
    assert.equal((await s.run(['status', 'p2'])).stdout, 'Stopped\n');
    const order = ipNumber(before.p1) < ipNumber(before.p2) ? ['p2', 'p1'] : ['p1', 'p2'];
    for (const n of order) {
      const start = await s.run(['start', n], { timeoutMs: 180_000 });
      assert.equal(start.code, 0, `${n}: ${start.stdout}\n${start.stderr}`);
      assert.equal((await s.run(['status', n])).stdout, 'Running\n');
    }
    for (const n of ['p1', 'p2'] as const) {
      assert.equal(await recordedAddress(n), before[n]);
      assert.deepEqual(await containerAddress(n), { asked: before[n], holds: before[n] }, n);
    }
    const after = await withEnv(
      'p1',
      "docker ps -a --format '{{.Names}}' && docker images --format '{{.Repository}}'",
    );
    assert.equal(after.stdout, 'only-on-p1\nbusybox\n', after.stderr);
    const r = await withEnv('p2', 'docker run --pull=never --rm busybox echo back');
    assert.deepEqual([r.code, r.stdout], [0, 'back\n'], r.stderr);
  });

  test('after the restarts, two machines reach each other at their addresses; the server certificate names address and name', async () => {
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
      assert.equal(ip2, await recordedAddress('p2'));
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
        cliProgram,
        [...cliArgs, 'create', '-d', 'docker', '--docker-host', dockerHost, name],
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
        'Incorrect Usage: invalid value "lots" for flag -docker-cpus: expected a number of CPUs, e.g. 2 or 1.5. See \'docker-machine create --help\'.\n',
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
