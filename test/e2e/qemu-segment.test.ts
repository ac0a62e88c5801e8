/**
 * The qemu segment hub as a real process started by ensureSegment, with fake member VMs on real
 * UDP sockets on 127.0.0.1 and stand-in qemu processes that the test starts and kills by pid.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  allocateSegmentAddress,
  ensureSegment,
  joinSegment,
  leaveSegment,
  type SegmentAddress,
  segmentMembers,
  segmentStatus,
} from '../../src/drivers/qemu/segment.js';
import { pingHub } from '../../src/drivers/qemu/segment-control.js';
import { paths, segmentDir } from '../../src/drivers/qemu/segment-members.js';
import { onProcessEnd } from '../helpers/cleanup.js';
import { BROADCAST, frame, tagOf } from '../helpers/ethernet-frames.js';

const scratch: string[] = [];
const children: ChildProcess[] = [];

async function tempCache(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dm-segment-'));
  scratch.push(d);
  return d;
}

/** End the hub this test started for cacheDir (by the pid it wrote), if it still runs. */
async function stopHub(cacheDir: string): Promise<void> {
  const pid = Number.parseInt(await readFile(paths.pid(segmentDir(cacheDir)), 'utf8').catch(() => ''), 10);
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
}

/** A stand-in for a member's qemu: a process that lives until the test kills it by pid. */
function fakeQemu(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const forgetChildCleanup = onProcessEnd(() => {
  for (const c of children) c.kill('SIGKILL');
});

after(async () => {
  for (const d of scratch) await stopHub(d);
  for (const c of children) await killChild(c);
  forgetChildCleanup();
  // A hub that is ending may still write its state file while the folder goes: retry on ENOTEMPTY.
  for (const d of scratch) await rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** A member VM's side of the segment: a UDP socket on its localPort, and the frames it got. */
class FakeMember {
  readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    readonly sock: Socket,
    readonly mac: string,
  ) {
    sock.on('message', (m) => {
      this.frames.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(mac: string, port: number, address = '127.0.0.1'): Promise<FakeMember> {
    return new Promise((resolve, reject) => {
      const sock = createSocket('udp4');
      sock.once('error', reject);
      sock.bind(port, address, () => resolve(new FakeMember(sock, mac)));
    });
  }

  send(hubPort: number, dst: string, tag: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(frame(dst, this.mac, tag), hubPort, '127.0.0.1', (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Wait (at most 10 s) until a frame with this tag has arrived; the tags of all frames so far. */
  async waitFor(tag: string): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    while (!this.frames.some((f) => tagOf(f) === tag)) {
      if (Date.now() > deadline) {
        throw new Error(`no frame "${tag}" reached ${this.mac}; got ${JSON.stringify(this.tags())}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.tags();
  }

  tags(): string[] {
    return this.frames.map(tagOf);
  }

  close(): void {
    this.sock.close();
  }
}

async function waitUntil(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function hubPid(cacheDir: string): Promise<number> {
  return Number.parseInt(await readFile(paths.pid(segmentDir(cacheDir)), 'utf8'), 10);
}

describe('segment hub', { timeout: 120_000 }, () => {
  test('members exchange frames through the hub: broadcast to the others, unicast to the one', async () => {
    const cache = await tempCache();
    const names = ['a', 'b', 'c'];
    const addrs = await Promise.all(names.map((n) => allocateSegmentAddress(cache, n)));
    const { hubPort } = await ensureSegment(cache);
    const [a, b, c] = await Promise.all(addrs.map((x) => FakeMember.open(x.mac, x.localPort)));
    const qemu = fakeQemu();
    for (const [i, n] of names.entries()) {
      await joinSegment(cache, n, { vmPort: addrs[i].localPort, qemuPid: qemu.pid! });
    }
    try {
      // Nobody has spoken yet: the broadcast reaches b and c because the members folder names them.
      await a.send(hubPort, BROADCAST, 'hello from a');
      await b.waitFor('hello from a');
      await c.waitFor('hello from a');

      await b.send(hubPort, a.mac, 'b to a');
      // a's next frame proves what came before it: frames from the hub to one socket keep their order.
      await b.send(hubPort, BROADCAST, 'marker 1');
      assert.deepEqual(await a.waitFor('marker 1'), ['b to a', 'marker 1']);
      assert.deepEqual(await c.waitFor('marker 1'), ['hello from a', 'marker 1'], 'c did not get b to a');
      assert.deepEqual(await b.waitFor('hello from a'), ['hello from a'], 'b got none of its own frames');

      // A fourth endpoint that is in no members file is learned from its first frame.
      const d = await FakeMember.open('52:54:00:aa:bb:cc', 0);
      await d.send(hubPort, BROADCAST, 'hello from d');
      await a.waitFor('hello from d');
      await a.send(hubPort, d.mac, 'a to d');
      await a.send(hubPort, BROADCAST, 'marker 2');
      assert.deepEqual(await d.waitFor('marker 2'), ['a to d', 'marker 2']);
      assert.deepEqual((await b.waitFor('marker 2')).slice(-2), ['hello from d', 'marker 2']);

      const status = await segmentStatus(cache);
      assert.ok(status, 'the hub answers a status ping');
      assert.ok(
        status.macs.some((m) => m.mac === d.mac && m.endpoint === `127.0.0.1:${d.sock.address().port}`),
      );
      d.close();
    } finally {
      for (const m of [a, b, c]) m.close();
    }
  });

  test('a frame from an address outside 127.0.0.0/8 is dropped', async (t) => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!outside) return t.skip('this host has no non-loopback IPv4 address to send from');
    const cache = await tempCache();
    const addrs = await Promise.all(['a', 'b'].map((n) => allocateSegmentAddress(cache, n)));
    const { hubPort } = await ensureSegment(cache);
    const [a, b] = await Promise.all(addrs.map((x) => FakeMember.open(x.mac, x.localPort)));
    const qemu = fakeQemu();
    for (const [i, n] of ['a', 'b'].entries()) {
      await joinSegment(cache, n, { vmPort: addrs[i].localPort, qemuPid: qemu.pid! });
    }
    // Bound to this host's own address and sent to 127.0.0.1: it stays on this host.
    const stranger = await FakeMember.open('52:54:00:66:66:66', 0, outside);
    try {
      await stranger.send(hubPort, BROADCAST, 'from outside');
      await b.send(hubPort, BROADCAST, 'marker');
      assert.deepEqual(await a.waitFor('marker'), ['marker']);
      const status = await segmentStatus(cache);
      assert.ok(status);
      assert.ok(!status.macs.some((m) => m.mac === stranger.mac), 'the stranger was not learned');
      assert.deepEqual(stranger.tags(), []);
    } finally {
      for (const m of [a, b, stranger]) m.close();
    }
  });

  test('parallel allocations get distinct addresses, MACs and ports; a released address is reused', async () => {
    const cache = await tempCache();
    const names = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const got: SegmentAddress[] = await Promise.all(names.map((n) => allocateSegmentAddress(cache, n)));
    assert.equal(new Set(got.map((g) => g.ip)).size, 10);
    assert.equal(new Set(got.map((g) => g.mac)).size, 10);
    assert.equal(new Set(got.map((g) => g.localPort)).size, 10);
    for (const g of got) {
      assert.match(g.address, /^10\.251\.0\.\d+\/24$/);
      assert.equal(g.address, `${g.ip}/24`);
      assert.match(g.mac, /^52:54:00:fb:00:[0-9a-f]{2}$/);
    }
    assert.deepEqual(
      got.map((g) => g.ip).sort(),
      Array.from({ length: 10 }, (_, i) => `10.251.0.${i + 2}`).sort(),
    );
    // Stable: asking again gives the same address and MAC.
    const again = await allocateSegmentAddress(cache, 'm3');
    assert.equal(again.address, got[3].address);
    assert.equal(again.mac, got[3].mac);

    await leaveSegment(cache, 'm0');
    await leaveSegment(cache, 'never-allocated');
    assert.equal((await segmentMembers(cache)).length, 9);
    const next = await allocateSegmentAddress(cache, 'newcomer');
    assert.equal(next.ip, got[0].ip, 'the lowest free address, released by leaveSegment');
  });

  test('parallel ensureSegment calls start one hub, and a later call reuses it', async () => {
    const cache = await tempCache();
    const results = await Promise.all(Array.from({ length: 4 }, () => ensureSegment(cache)));
    assert.equal(new Set(results.map((r) => r.hubPort)).size, 1);
    const pid = await hubPid(cache);
    const status = await pingHub(results[0].hubPort);
    assert.equal(status?.pid, pid);
    const again = await ensureSegment(cache);
    assert.equal(again.hubPort, results[0].hubPort);
    assert.equal(await hubPid(cache), pid);
    const log = await readFile(paths.log(segmentDir(cache)), 'utf8');
    assert.equal(log.match(/listening on/g)?.length, 1, `one hub started:\n${log}`);
  });

  test('the hub stays while a member qemu lives, and ends once none has for the idle time', async () => {
    const cache = await tempCache();
    const addr = await allocateSegmentAddress(cache, 'only');
    const qemu = fakeQemu();
    const idleMs = 1500;
    const { hubPort } = await ensureSegment(cache, { idleMs });
    await joinSegment(cache, 'only', { vmPort: addr.localPort, qemuPid: qemu.pid! });
    const pid = await hubPid(cache);
    // Well past the idle time with the member alive (and no ping meanwhile): still there.
    await new Promise((r) => setTimeout(r, idleMs * 3));
    assert.ok(alive(pid), 'the hub ended while its member lived');
    assert.equal((await pingHub(hubPort))?.pid, pid);

    await killChild(qemu);
    await waitUntil('the hub to end', () => !alive(pid));
    assert.ok(!existsSync(paths.pid(segmentDir(cache))), 'hub.pid is removed');
    assert.ok(!existsSync(paths.lock(segmentDir(cache))), 'the lock is released before the hub ends');
    assert.match(await readFile(paths.log(segmentDir(cache)), 'utf8'), /ends: no member VM/);

    // The next start gets a new hub, on the same port when it is still free.
    const again = await ensureSegment(cache);
    assert.equal(again.hubPort, hubPort);
    assert.notEqual(await hubPid(cache), pid);
  });

  test('the bundled hub (dist/qemu-segment-hub.cjs) runs too', async (t) => {
    const bundled = join(import.meta.dirname, '..', '..', 'dist', 'qemu-segment-hub.cjs');
    if (!existsSync(bundled)) return t.skip('no build: run node scripts/build.mjs');
    const cache = await tempCache();
    const { hubPort } = await ensureSegment(cache, { hubCommand: { args: [bundled] } });
    const status = await pingHub(hubPort);
    assert.equal(status?.pid, await hubPid(cache));
  });
});
