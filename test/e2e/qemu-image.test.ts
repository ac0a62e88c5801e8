import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_MIRROR, recipeHash } from '../../src/drivers/qemu/build.js';
import { createOverlay } from '../../src/drivers/qemu/disk.js';
import { findTool } from '../../src/drivers/qemu/host-tool.js';
import { type BootImage, ensureBootImage } from '../../src/drivers/qemu/image.js';
import { writeSeed } from '../../src/drivers/qemu/seed.js';
import { MachineError } from '../../src/errors.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { freePort } from '../helpers/ports.js';
import { cacheDir } from '../helpers/testhost.js';

// The qemu driver's base images. The built image comes from Debian's mirror (the one registry
// these machines reach) and is cached across runs in the test cache; downloads come only from
// HTTP servers this test runs on 127.0.0.1 (Debian's cloud image is never fetched); the boot
// proof runs one VM under software emulation with user networking on 127.0.0.1 only.

const run = promisify(execFile);
const tools = [
  'debootstrap',
  'mkfs.ext4',
  'debugfs',
  'qemu-img',
  'qemu-system-x86_64',
  'genisoimage',
  'ssh',
  'ssh-keygen',
];
const missing = tools.filter((t) => !findTool(t));
const skipBuild =
  process.getuid?.() !== 0
    ? 'needs root (debootstrap)'
    : missing.length
      ? `needs ${missing.join(', ')} (npm test installs them)`
      : process.arch !== 'x64'
        ? 'boots an amd64 image'
        : false;
const skipImg = findTool('qemu-img') ? false : 'needs qemu-img (qemu-utils)';

const oneLine = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof MachineError, String(e));
  assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
  assert.match(e.message, re);
  return true;
};

/** A small qcow2 image that checks out as bootable: random sectors with an MBR signature. */
async function smallQcow2(dir: string, name: string, mb = 8): Promise<string> {
  const raw = randomBytes(mb * 1024 * 1024);
  raw[510] = 0x55;
  raw[511] = 0xaa;
  await writeFile(join(dir, `${name}.raw`), raw);
  const out = join(dir, name);
  await run('qemu-img', ['convert', '-O', 'qcow2', join(dir, `${name}.raw`), out]);
  await rm(join(dir, `${name}.raw`));
  return out;
}

describe('qemu base images: local paths', { skip: skipImg }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-qemu-img-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const local = (image: string) => ensureBootImage({ image, mirror: '', cacheDir: dir, log: () => {} });

  test('a missing path names the path and what --qemu-image takes', async () => {
    await assert.rejects(
      local(join(dir, 'nope.qcow2')),
      oneLine(
        new RegExp(
          `^the image ${dir}/nope\\.qcow2 does not exist: give --qemu-image a qcow2 or raw disk image`,
        ),
      ),
    );
  });

  test('random bytes are no disk image, though qemu-img reads them as raw', async () => {
    await writeFile(join(dir, 'random.img'), randomBytes(1024 * 1024));
    await assert.rejects(
      local(join(dir, 'random.img')),
      oneLine(new RegExp(`^${dir}/random\\.img is not a bootable disk image \\(no partition table`)),
    );
  });

  test('a truncated qcow2 is reported as damaged', async () => {
    const good = await smallQcow2(dir, 'truncated.qcow2');
    const fh = await open(good, 'r+');
    await fh.truncate((await fh.stat()).size / 2);
    await fh.close();
    await assert.rejects(
      local(good),
      oneLine(
        new RegExp(`^${dir}/truncated\\.qcow2 is a damaged qcow2 image \\(qemu-img check: \\d+ errors`),
      ),
    );
    // A header cut short is not even a qcow2 image any more.
    await writeFile(good, (await readFile(good)).subarray(0, 40));
    await assert.rejects(local(good), oneLine(/is not a disk image qemu-img can read \(.+\)$/));
  });

  test('a sound qcow2 or a raw disk with a partition table is taken as it is, by absolute path', async () => {
    const q = await smallQcow2(dir, 'good.qcow2');
    assert.deepEqual(await local(q), { disk: q, format: 'qcow2', source: q });
    const raw = Buffer.alloc(2 * 1024 * 1024);
    raw[510] = 0x55;
    raw[511] = 0xaa;
    await writeFile(join(dir, 'good.raw'), raw);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.deepEqual(await local('good.raw'), {
        disk: join(dir, 'good.raw'),
        format: 'raw',
        source: join(dir, 'good.raw'),
      });
    } finally {
      process.chdir(cwd);
    }
  });
});

interface Served {
  url: string;
  requests: { path: string; range?: string }[];
  server: Server;
}

/**
 * An HTTP server on 127.0.0.1 with ETag and Range support. `cutOnce` paths end their first
 * answer halfway, as a dropped connection does.
 */
async function serve(files: Record<string, Buffer | string>, cutOnce: string[] = []): Promise<Served> {
  const requests: Served['requests'] = [];
  const cut = new Set(cutOnce);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, range: req.headers.range });
    const body = files[path];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const buf = Buffer.from(body);
    const etag = `"${createHash('sha1').update(buf).digest('hex')}"`;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && req.headers['if-range'] === etag) {
      const from = Number(m[1]);
      res.writeHead(206, {
        etag,
        'content-length': buf.length - from,
        'content-range': `bytes ${from}-${buf.length - 1}/${buf.length}`,
      });
      res.end(buf.subarray(from));
      return;
    }
    res.writeHead(200, { etag, 'content-length': buf.length });
    if (cut.delete(path)) {
      res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(buf);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

describe('qemu base images: downloads from a server of the test', { skip: skipImg }, () => {
  let dir: string;
  let image: Buffer;
  let srv: Served;
  const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-qemu-dl-'));
    image = await readFile(await smallQcow2(dir, 'src.qcow2'));
    srv = await serve(
      {
        '/images/cloud.qcow2': image,
        '/images/SHA512SUMS': `${'1'.repeat(128)}  other.qcow2\n${sha512(image)}  cloud.qcow2\n`,
        '/bad/cloud.qcow2': image,
        '/bad/SHA512SUMS': `${'2'.repeat(128)}  cloud.qcow2\n`,
        '/plain/cloud.qcow2': image,
        '/resume/cloud.qcow2': image,
        '/resume/SHA256SUMS': `${sha256(image)}  cloud.qcow2\n`,
        '/junk/cloud.qcow2': randomBytes(1024 * 1024),
      },
      ['/resume/cloud.qcow2'],
    );
  });
  after(async () => {
    srv?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fetchImage = (path: string, cache: string, lines: string[], checksum?: string) =>
    ensureBootImage({
      image: `${srv.url}${path}`,
      checksum,
      mirror: '',
      cacheDir: cache,
      log: (l) => lines.push(l),
    });
  const imageGets = (path: string) => srv.requests.filter((r) => r.path === path).length;

  test('a URL is downloaded once, with progress, and checked against the SHA512SUMS beside it', async () => {
    const cache = join(dir, 'c1');
    const lines: string[] = [];
    const boot = await fetchImage('/images/cloud.qcow2', cache, lines);
    assert.equal(boot.format, 'qcow2');
    assert.equal(boot.source, `${srv.url}/images/cloud.qcow2`);
    assert.ok(boot.disk.startsWith(join(cache, 'qemu', 'downloads')), boot.disk);
    assert.equal(boot.kernel, undefined);
    assert.ok((await readFile(boot.disk)).equals(image));
    assert.ok(
      lines.includes(`Downloading ${srv.url}/images/cloud.qcow2 (${Math.round(image.length / 1e6)} MB)...`),
      lines.join('\n'),
    );
    const pcts = lines.flatMap((l) => /^Downloading: (\d+)%/.exec(l)?.[1] ?? []).map(Number);
    assert.ok(pcts.length >= 3, lines.join('\n'));
    assert.deepEqual(
      pcts,
      [...pcts].sort((a, b) => a - b),
    );
    assert.ok(pcts.every((p) => p % 10 === 0 && p > 0 && p < 100));
    assert.ok(lines.includes('Checked the download against its sha512 checksum'), lines.join('\n'));
    assert.deepEqual((await readdir(join(cache, 'qemu', 'downloads'))).length, 1);

    const again: string[] = [];
    assert.deepEqual(await fetchImage('/images/cloud.qcow2', cache, again), boot);
    assert.equal(imageGets('/images/cloud.qcow2'), 1);
    assert.deepEqual(again, []);
    // A checksum given later is checked against the cached copy, with no new download.
    await fetchImage('/images/cloud.qcow2', cache, again, `sha256:${sha256(image)}`);
    assert.equal(imageGets('/images/cloud.qcow2'), 1);
  });

  test('a wrong checksum, published or given, fails and leaves no file behind', async () => {
    const cache = join(dir, 'c2');
    await assert.rejects(
      fetchImage('/bad/cloud.qcow2', cache, []),
      oneLine(
        /^the download of http:\/\/127\.0\.0\.1:\d+\/bad\/cloud\.qcow2 does not match its sha512 checksum \(expected 2222222222222222\.\.\., got [0-9a-f]{16}\.\.\.\); the file was deleted/,
      ),
    );
    assert.deepEqual(await readdir(join(cache, 'qemu', 'downloads')), []);
    await assert.rejects(
      fetchImage('/images/cloud.qcow2', cache, [], `sha256:${'0'.repeat(64)}`),
      oneLine(/does not match its sha256 checksum .*: check the URL and --qemu-image-checksum$/),
    );
    assert.deepEqual(await readdir(join(cache, 'qemu', 'downloads')), []);
  });

  test('with no checksum anywhere the download goes on, and says so', async () => {
    const lines: string[] = [];
    const boot = await fetchImage('/plain/cloud.qcow2', join(dir, 'c3'), lines);
    assert.ok((await readFile(boot.disk)).equals(image));
    assert.ok(
      lines.some((l) => /^No checksum for .*\/plain\/cloud\.qcow2 .*: the download is not verified$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(srv.requests.some((r) => r.path === '/plain/SHA512SUMS'));
    assert.ok(srv.requests.some((r) => r.path === '/plain/SHA256SUMS'));
  });

  test('a dropped download resumes where it stopped when the server still has the same file', async () => {
    const cache = join(dir, 'c4');
    const lines: string[] = [];
    await assert.rejects(
      fetchImage('/resume/cloud.qcow2', cache, lines),
      oneLine(/stopped at .* run the command again to resume$/),
    );
    const boot = await fetchImage('/resume/cloud.qcow2', cache, lines);
    const gets = srv.requests.filter((r) => r.path === '/resume/cloud.qcow2');
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(gets[1].range ?? '')?.[0]) > 0);
    assert.ok(
      lines.some((l) => l.startsWith(`Resuming the download of ${srv.url}/resume/cloud.qcow2 at`)),
      lines.join('\n'),
    );
    assert.ok(lines.includes('Checked the download against its sha256 checksum'));
    assert.ok((await readFile(boot.disk)).equals(image));
    assert.deepEqual(await readdir(join(cache, 'qemu', 'downloads')), [boot.disk.split('/').pop()]);
  });

  test('a download that is no disk image is deleted with the error', async () => {
    const cache = join(dir, 'c5');
    await assert.rejects(
      fetchImage('/junk/cloud.qcow2', cache, []),
      oneLine(/is not a bootable disk image .*the download of .* is not usable \(deleted\)/),
    );
    assert.deepEqual(await readdir(join(cache, 'qemu', 'downloads')), []);
  });

  test('the default image falls back to a build only when its server cannot be reached', async () => {
    const closed = await freePort();
    const builds: string[] = [];
    const stub: BootImage = { disk: '/stub/disk.qcow2', format: 'qcow2', source: 'stub build' };
    const lines: string[] = [];
    const boot = await ensureBootImage({
      image: '',
      mirror: 'http://127.0.0.1:9/debian',
      cacheDir: join(dir, 'c6'),
      log: (l) => lines.push(l),
      defaultUrl: `http://127.0.0.1:${closed}/debian-12-genericcloud-amd64.qcow2`,
      build: async (o) => {
        builds.push(o.mirror);
        return stub;
      },
    });
    assert.equal(boot, stub);
    assert.deepEqual(builds, ['http://127.0.0.1:9/debian']);
    assert.deepEqual(lines, [
      `Cannot reach 127.0.0.1:${closed} for Debian's cloud image (ECONNREFUSED): building the image from http://127.0.0.1:9/debian instead`,
    ]);
    // A server that answers, even with an error, is no reason to build instead.
    await assert.rejects(
      ensureBootImage({
        image: '',
        mirror: '',
        cacheDir: join(dir, 'c6'),
        log: () => {},
        defaultUrl: `${srv.url}/gone/debian-12-genericcloud-amd64.qcow2`,
        build: async () => {
          builds.push('again');
          return stub;
        },
      }),
      oneLine(
        /^downloading http:\/\/127\.0\.0\.1:\d+\/gone\/debian-12-genericcloud-amd64\.qcow2 failed: the server answered 404/,
      ),
    );
    assert.equal(builds.length, 1);
  });
});

describe('qemu base images: built from the Debian mirror, and booted', {
  skip: skipBuild,
  timeout: 45 * 60_000,
}, () => {
  let store: string;
  let built: BootImage;
  const lines: string[] = [];

  before(async () => {
    // The built image outlives this run: the store's cache/qemu is the shared test cache's.
    store = await mkdtemp(join(tmpdir(), 'dm-qemu-store-'));
    const shared = join(cacheDir(), 'qemu');
    await mkdir(shared, { recursive: true });
    await symlink(shared, join(store, 'qemu'));
  });
  after(() => rm(store, { recursive: true, force: true }));

  test("a mirror that does not answer fails the build with debootstrap's last lines", async () => {
    const closed = await freePort();
    const cache = await mkdtemp(join(tmpdir(), 'dm-qemu-mirror-'));
    try {
      await assert.rejects(
        ensureBootImage({
          image: 'build',
          mirror: `http://127.0.0.1:${closed}/debian`,
          cacheDir: cache,
          log: () => {},
        }),
        (e: unknown) => {
          assert.ok(e instanceof MachineError);
          assert.match(
            e.message,
            new RegExp(
              `^building the machine image with debootstrap from http://127.0.0.1:${closed}/debian failed \\(exit status 1\\); check --qemu-debian-mirror and the network\\. Its last lines:\\n`,
            ),
          );
          assert.match(e.message, /Failed getting release file|Couldn't download|Connection refused/i);
          return true;
        },
      );
      // Nothing half-built stays in the cache.
      assert.deepEqual(
        (await readdir(join(cache, 'qemu', 'images')).catch(() => [] as string[])).filter(
          (f) => !f.endsWith('.lock'),
        ),
        [],
      );
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  test('build: a qcow2 root disk, the kernel and its initrd, built once for parallel callers', async (t) => {
    const started = Date.now();
    const ensure = () =>
      ensureBootImage({ image: 'build', mirror: DEFAULT_MIRROR, cacheDir: store, log: (l) => lines.push(l) });
    const [a, b] = await Promise.all([ensure(), ensure()]);
    t.diagnostic(`build or cache hit: ${Math.round((Date.now() - started) / 1000)} s; ${lines.join(' | ')}`);
    assert.deepEqual(a, b);
    built = a;
    assert.ok(lines.filter((l) => l.startsWith('Building the machine image')).length <= 1, lines.join('\n'));
    const dir = join(store, 'qemu', 'images', `debian-bookworm-amd64-${recipeHash('amd64')}`);
    assert.deepEqual(built, {
      disk: join(dir, 'disk.qcow2'),
      format: 'qcow2',
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      cmdline: built.cmdline,
      engine: { dockerd: '/usr/sbin/dockerd', socketActivated: true },
      source: `built from ${DEFAULT_MIRROR} (bookworm)`,
    });
    assert.match(built.cmdline ?? '', /^console=ttyS0 root=\/dev\/vda .*\brw\b/);
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', built.disk])).stdout);
    assert.equal(info.format, 'qcow2');
    assert.equal(info['backing-filename'], undefined);
    t.diagnostic(
      `disk: ${Math.round(info['virtual-size'] / 2 ** 20)} MB virtual, ${Math.round((await stat(built.disk)).size / 1e6)} MB file; kernel ${Math.round((await stat(built.kernel!)).size / 1e6)} MB, initrd ${Math.round((await stat(built.initrd!)).size / 1e6)} MB`,
    );
    // A bzImage kernel ("HdrS" at 0x202) and the image's own initrd, an uncompressed newc cpio.
    assert.equal((await readFile(built.kernel!)).subarray(0x202, 0x206).toString(), 'HdrS');
    assert.equal((await readFile(built.initrd!)).subarray(0, 6).toString('latin1'), '070701');
    // Only complete images in the cache folder: no build folders, no lock left.
    const left = (await readdir(join(store, 'qemu'))).filter((f) =>
      f.startsWith(`debian-bookworm-amd64-${recipeHash('amd64')}.`),
    );
    assert.deepEqual(left, []);

    const again: string[] = [];
    assert.deepEqual(
      await ensureBootImage({
        image: 'build',
        mirror: DEFAULT_MIRROR,
        cacheDir: store,
        log: (l) => again.push(l),
      }),
      built,
    );
    assert.deepEqual(again, []);
  });

  test('the built root file system: no host keys, an empty machine id, the machine units enabled', async () => {
    assert.ok(built, 'the build test ran first');
    const dir = await mkdtemp(join(tmpdir(), 'dm-qemu-fs-'));
    try {
      const raw = join(dir, 'disk.raw');
      await run('qemu-img', ['convert', '-O', 'raw', built.disk, raw]);
      const debugfs = async (cmd: string) =>
        (await run('debugfs', ['-R', cmd, raw], { maxBuffer: 1 << 24 })).stdout;
      assert.doesNotMatch(await debugfs('ls /etc/ssh'), /ssh_host_/);
      assert.equal(await debugfs('cat /etc/machine-id'), '');
      const wants = await debugfs('ls /etc/systemd/system/multi-user.target.wants');
      for (const unit of [
        'ssh.service',
        'docker.service',
        'machine-seed.service',
        'machine-growfs.service',
        'ssh-hostkeys.service',
        'systemd-networkd.service',
      ]) {
        assert.ok(wants.includes(unit), `${unit} not enabled: ${wants}`);
      }
      assert.doesNotMatch(await debugfs('ls /etc/systemd/system/timers.target.wants'), /apt-daily/);
      assert.match(await debugfs('cat /usr/local/sbin/machine-seed'), /LABEL=cidata/);
      assert.match(await debugfs('ls /usr/sbin'), /dockerd/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('boot proof: an overlay and a seed, direct kernel boot under TCG, SSH as docker with sudo and a running engine', async (t) => {
    assert.ok(built, 'the build test ran first');
    const dir = await mkdtemp(join(tmpdir(), 'dm-qemu-vm-'));
    let vm: ChildProcess | undefined;
    let forget = () => {};
    try {
      const key = join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'qemu-image-test', '-f', key]);
      const diskMB = 4096;
      await createOverlay(built, join(dir, 'disk.qcow2'), diskMB);
      await assert.rejects(
        createOverlay(built, join(dir, 'small.qcow2'), 512),
        oneLine(/^--qemu-disk-size 512 is smaller than the image's own disk \(\d+ MB, built from/),
      );
      assert.ok(!existsSync(join(dir, 'small.qcow2')));
      const segmentMac = '52:54:00:d0:0e:01';
      await writeSeed(dir, {
        hostname: 'qemu-proof',
        user: 'docker',
        publicKey: (await readFile(`${key}.pub`, 'utf8')).trim(),
        instanceId: 'proof-1',
        segment: { address: '10.254.3.7/24', mac: segmentMac },
      });
      const sshPort = await freePort();
      const segPort = await freePort();
      const started = Date.now();
      vm = spawn(
        'qemu-system-x86_64',
        [
          '-accel',
          'tcg',
          '-smp',
          '2',
          '-m',
          '1024',
          '-nodefaults',
          '-no-user-config',
          '-display',
          'none',
          '-kernel',
          built.kernel!,
          '-initrd',
          built.initrd!,
          '-append',
          built.cmdline!,
          '-drive',
          `file=${join(dir, 'disk.qcow2')},format=qcow2,if=virtio,discard=unmap`,
          '-drive',
          `file=${join(dir, 'seed.iso')},format=raw,if=virtio,readonly=on`,
          '-netdev',
          `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
          '-device',
          'virtio-net-pci,netdev=n0',
          // A second NIC on a loopback socket nobody joins: only its seeded address is checked.
          '-netdev',
          `socket,id=s0,listen=127.0.0.1:${segPort}`,
          '-device',
          `virtio-net-pci,netdev=s0,mac=${segmentMac}`,
          '-device',
          'virtio-rng-pci',
          '-serial',
          `file:${join(dir, 'console.log')}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      vm.stderr?.on('data', (d) => (stderr += d));
      const pid = vm.pid!;
      forget = onProcessEnd(() => process.kill(pid, 'SIGKILL'));
      const exited = new Promise<void>((r) => vm?.once('exit', () => r()));

      const ssh = (cmd: string, timeoutMs = 120_000) =>
        run(
          'ssh',
          [
            '-i',
            key,
            '-p',
            String(sshPort),
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            'BatchMode=yes',
            '-o',
            'ConnectTimeout=10',
            '-o',
            'LogLevel=ERROR',
            'docker@127.0.0.1',
            cmd,
          ],
          { timeout: timeoutMs },
        );
      let last = '';
      let answered = 0;
      for (let attempt = 1; attempt <= 300 && Date.now() - started < 8 * 60_000; attempt++) {
        if (vm.exitCode !== null) break;
        try {
          await ssh('true', 60_000);
          answered = Date.now();
          break;
        } catch (err) {
          last = ((err as { stderr?: string }).stderr ?? String(err)).trim();
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      const consoleTail = async () =>
        (await readFile(join(dir, 'console.log'), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      assert.ok(
        answered,
        `no SSH login within 8 min; qemu: ${stderr.trim() || 'running'}; last ssh: ${last}\nconsole:\n${await consoleTail()}`,
      );
      t.diagnostic(
        `qemu start to SSH login: ${((answered - started) / 1000).toFixed(1)} s (load ${execFileSync('cat', ['/proc/loadavg']).toString().trim()})`,
      );

      assert.equal((await ssh('hostname')).stdout.trim(), 'qemu-proof');
      await ssh('sudo -n true');
      // The engine waits for its certificates (provisioning writes them): not started at boot.
      const before = await ssh('systemctl is-active docker || true');
      assert.equal(before.stdout.trim(), 'inactive');
      // With a certificate in place it starts, then runs a container from an image made here.
      const engine = await ssh(
        'sudo touch /etc/docker/server.pem && sudo systemctl start docker && systemctl is-active docker',
        180_000,
      );
      assert.equal(engine.stdout.trim(), 'active');
      t.diagnostic(`qemu start to an active docker.service: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const container = await ssh(
        'set -e; d=$(mktemp -d); cp /sbin/ldconfig "$d/"; tar -C "$d" -c . | sudo docker import - proof:1 >/dev/null; sudo docker run --rm proof:1 /ldconfig --version | head -n 1',
        180_000,
      );
      assert.match(container.stdout, /^ldconfig \(Debian GLIBC/);
      // The root file system has grown to the overlay's size (the unit may still be running).
      const df = await ssh(
        'sudo systemctl start machine-growfs && df --block-size=1M --output=size / | tail -n 1',
      );
      const sizeMB = Number(df.stdout.trim());
      assert.ok(
        sizeMB > diskMB * 0.9 && sizeMB <= diskMB,
        `root file system ${sizeMB} MB on a ${diskMB} MB disk`,
      );
      // NIC 1 has its DHCP address from user networking; the segment NIC has the seeded one.
      const addrs = (await ssh('ip -4 -o addr show')).stdout;
      assert.match(addrs, /\binet 10\.0\.2\.15\/24\b/);
      const segLine = (await ssh(`ip -o link | grep -i ${segmentMac} | cut -d: -f2`)).stdout.trim();
      assert.ok(segLine, 'no NIC with the segment MAC');
      assert.match(addrs, new RegExp(`^\\d+: ${segLine}\\s+inet 10\\.254\\.3\\.7/24\\b`, 'm'));
      // The machine made its own host key at first boot.
      assert.match((await ssh('ls /etc/ssh')).stdout, /ssh_host_ed25519_key\.pub/);
      vm.kill('SIGKILL');
      await exited;
    } finally {
      if (vm && vm.exitCode === null && vm.signalCode === null) vm.kill('SIGKILL');
      forget();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
