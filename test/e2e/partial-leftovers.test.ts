import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, runProcess } from '../helpers/cli.js';
import { killAt } from '../helpers/kill-at.js';

// Each cache-making step of the product runs in a process of its own (test/helpers/partial-child.ts),
// is killed with SIGKILL at a pause point, and is run again: the second run completes, removes
// what the killed one left, and the cache then holds the final name and nothing else.
const child = [process.execPath, '--import', 'tsx', join(repoRoot, 'test/helpers/partial-child.ts')];
const runChild = (args: string[]) =>
  runProcess(child[0], [...child.slice(1), ...args], { timeoutMs: 60_000 });
const killChild = (point: string, args: string[]) => killAt(point, args, { cmd: child });

const tool = (t: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const skipBuild =
  process.getuid?.() !== 0
    ? 'the qemu image build needs root'
    : !['debootstrap', 'mkfs.ext4', 'qemu-img'].every(tool)
      ? 'the qemu image build checks for debootstrap, mkfs.ext4 and qemu-img'
      : false;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-partial-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the qemu image build killed part way', { skip: skipBuild }, () => {
  for (const point of ['qemu-image-half', 'qemu-image-built']) {
    test(`at ${point}: the next build removes the partial folder and completes`, async () => {
      const cache = join(dir, point);
      const images = join(cache, 'qemu', 'images');
      await killChild(point, ['qemu-build', cache]);
      const left = await readdir(images);
      const partial = left.filter((f) => /\.build-\d+-/.test(f));
      assert.equal(partial.length, 1, `one partial build folder: ${left}`);
      // Nothing under a final name: the half image is never taken for whole.
      assert.deepEqual(
        left.filter((f) => !f.includes('.')),
        [],
      );

      const r = await runChild(['qemu-build', cache]);
      assert.equal(r.code, 0, r.stderr);
      const disk = r.stdout.trim();
      assert.equal((await stat(disk)).size, 1 << 20);
      assert.equal(await readFile(join(disk, '..', 'initrd.img'), 'utf8'), 'initrd');
      // The final folder only: the partial one and the killed run's lock are gone.
      assert.deepEqual(await readdir(images), [join(disk, '..').split('/').pop()]);
    });
  }

  test('a partial folder whose maker still runs is left alone, also by a run that finds the image built', async () => {
    const cache = join(dir, 'live');
    const r = await runChild(['qemu-build', cache]);
    assert.equal(r.code, 0, r.stderr);
    const final = join(r.stdout.trim(), '..');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const live = `${final}.build-${sleeper.pid}-abcdef`;
      const dead = `${final}.build-${await deadPid()}-abcdef`;
      await mkdir(live);
      await mkdir(dead);
      assert.equal((await runChild(['qemu-build', cache])).code, 0);
      assert.ok(existsSync(live), 'the live build is kept');
      assert.ok(!existsSync(dead), 'the dead one is removed');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe("the docker driver's root file system tarball killed part way", () => {
  for (const point of ['rootfs-half', 'rootfs-filled', 'rootfs-packed']) {
    test(`at ${point}: the next run removes the partial folder and tar and completes`, async () => {
      const folder = join(dir, point);
      await mkdir(folder);
      const tarball = join(folder, 'debian-bookworm-abc.tar');
      await killChild(point, ['rootfs', tarball]);
      const left = await readdir(folder);
      assert.ok(
        left.length > 0 && left.every((f) => /\.(build|tmp)-\d+-/.test(f)),
        `only partial names: ${left}`,
      );
      if (point === 'rootfs-packed')
        assert.ok(
          left.some((f) => f.includes('.tmp-')),
          'the packed tar is partial',
        );

      const r = await runChild(['rootfs', tarball]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readdir(folder), ['debian-bookworm-abc.tar']);
      const listed = execFileSync('tar', ['-tf', tarball], { encoding: 'utf8' }).split('\n');
      assert.ok(listed.includes('./etc/machine-id'), listed.join(' '));
    });
  }
});

describe('a download killed half way', () => {
  const body = randomBytes(8 << 20);
  const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
  const ranges: (string | undefined)[] = [];
  let url = '';
  let server: ReturnType<typeof createServer>;
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.endsWith('/image.qcow2')) return void res.writeHead(404).end();
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = m && req.headers['if-range'] === etag ? Number(m[1]) : 0;
      const head: Record<string, string | number> = { etag, 'content-length': body.length - from };
      if (from) head['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
      res.writeHead(from ? 206 : 200, head);
      // In pieces, so that the client sees the middle before the end.
      let at = from;
      const next = () => {
        if (at >= body.length) return void res.end();
        const piece = body.subarray(at, at + (256 << 10));
        at += piece.length;
        if (res.write(piece)) setImmediate(next);
        else res.once('drain', next);
      };
      res.on('close', () => {
        at = body.length;
      });
      next();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/images/image.qcow2`;
  });
  after(() => {
    server.close();
    server.closeAllConnections();
  });

  test('keeps only FILE.part (for a resume); the next run resumes, completes, and leaves no part', async () => {
    const downloads = join(dir, 'downloads');
    await killChild('download-half', ['download', url, downloads]);
    const left = await readdir(downloads);
    assert.ok(
      left.every((f) => f.endsWith('.part') || f.endsWith('.part.json') || f.endsWith('.lock')),
      `only partial names: ${left}`,
    );
    const part = left.find((f) => f.endsWith('.part'));
    assert.ok(part, `a .part file: ${left}`);
    const kept = (await stat(join(downloads, part))).size;
    assert.ok(kept < body.length);

    const r = await runChild(['download', url, downloads]);
    assert.equal(r.code, 0, r.stderr);
    const file = r.stdout.trim();
    assert.ok(
      createHash('sha1')
        .update(await readFile(file))
        .digest()
        .equals(createHash('sha1').update(body).digest()),
    );
    assert.ok(kept > 0, 'the kill came after some bytes were written');
    assert.equal(ranges.at(-1), `bytes=${kept}-`, 'the second run resumed');
    assert.deepEqual(await readdir(downloads), [file.split('/').pop()]);
  });
});

/** A pid that no process has now: a child that has ended and been reaped. */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.on('close', r));
  return c.pid as number;
}
