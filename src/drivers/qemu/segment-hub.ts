import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFile, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../../store/atomic.js';
import { withFileLock } from '../../store/lock.js';
import { CONTROL_LENGTH, decodeRequest, encodeAnswer, type HubStatus, PING } from './segment-control.js';
import { holdsHub, paths, qemuAlive, readMembers, segmentLock } from './segment-members.js';
import { type Endpoint, ETHERNET_HEADER, LearningSwitch, parseMac } from './segment-switch.js';

/**
 * The hub of a store's segment: one UDP socket on 127.0.0.1 where every member VM's qemu sends
 * its Ethernet frames (`-netdev socket,udp=127.0.0.1:HUB,localaddr=127.0.0.1:VMPORT`, one raw
 * frame per datagram), forwarded like a learning switch. It runs as a process of its own,
 * started by ensureSegment, and ends itself once no member VM has lived for idleMs.
 */
export interface HubOptions {
  /** The segment folder (see segmentDir). */
  dir: string;
  /** Port to bind, usually the previous hub's, so VMs still running after a hub crash keep working. */
  port?: number;
  /** End after this long without a live member or a ping. */
  idleMs?: number;
  /** How often the members folder is read and liveness checked. */
  checkMs?: number;
  maxEndpoints?: number;
  log?: (line: string) => void;
}

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Runs the hub; resolves when it has ended (idle, replaced, or a signal). */
export async function runSegmentHub(opts: HubOptions): Promise<string> {
  const dir = opts.dir;
  const idleMs = opts.idleMs ?? 30_000;
  const checkMs = opts.checkMs ?? Math.min(3_000, Math.max(100, Math.floor(idleMs / 5)));
  const maxEndpoints = opts.maxEndpoints ?? 256;
  const log = opts.log ?? (() => {});
  const sw = new LearningSwitch({ maxEndpoints });
  const sock = await bindHub(opts.port);
  const port = sock.address().port;
  const startedAt = Date.now();
  let lastHeld = startedAt;
  let lastPing = startedAt;
  let frames = 0;
  let scanning: Promise<void> | undefined;
  let rescanAgain = false;

  await writeFileAtomic(paths.port(dir), `${port}\n`, 0o600);
  await writeFileAtomic(paths.pid(dir), `${process.pid}\n`, 0o600);
  log(`hub ${process.pid} listening on 127.0.0.1:${port}`);

  const scan = async (): Promise<void> => {
    const now = Date.now();
    const members = await readMembers(dir, maxEndpoints);
    const live = [];
    const gone: Endpoint[] = [];
    for (const m of members) {
      const endpoint = { address: '127.0.0.1', port: m.vmPort };
      if (qemuAlive(m)) live.push({ endpoint, mac: parseMac(m.mac) });
      else gone.push(endpoint);
      if (holdsHub(m, now)) lastHeld = now;
    }
    sw.setMembers(live, gone);
    sw.expire(now);
  };
  // Scans never overlap; a request during one runs one more right after it.
  const requestScan = (): Promise<void> => {
    if (scanning) {
      rescanAgain = true;
      return scanning;
    }
    scanning = scan()
      .catch((err) => log(`reading the members failed: ${String(err)}`))
      .finally(() => {
        scanning = undefined;
        if (rescanAgain) {
          rescanAgain = false;
          void requestScan();
        }
      });
    return scanning;
  };

  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    // Bound to 127.0.0.1, so only loopback can reach it; checked anyway, as nothing may ever
    // be sent to another address.
    if (rinfo.family !== 'IPv4' || !IPV4_LOOPBACK.test(rinfo.address)) return;
    if (msg.length < ETHERNET_HEADER) {
      if (msg.length !== CONTROL_LENGTH) return;
      const req = decodeRequest(msg);
      if (!req) return;
      if (req.op === PING) {
        lastPing = Date.now();
        const status: HubStatus = { pid: process.pid, port, frames, ...sw.snapshot(lastPing) };
        sock.send(encodeAnswer(req.op, req.nonce, status), rinfo.port, rinfo.address, () => {});
      } else {
        void requestScan().then(() =>
          sock.send(encodeAnswer(req.op, req.nonce, {}), rinfo.port, rinfo.address, () => {}),
        );
      }
      return;
    }
    frames++;
    for (const to of sw.route(msg, { address: rinfo.address, port: rinfo.port }, Date.now())) {
      if (IPV4_LOOPBACK.test(to.address)) sock.send(msg, to.port, to.address, () => {});
    }
  });

  await requestScan();

  return new Promise<string>((resolve) => {
    let ending = false;
    const finish = (reason: string) => {
      if (ending) return;
      ending = true;
      clearInterval(timer);
      sock.close();
      log(`hub ${process.pid} ends: ${reason}`);
      resolve(reason);
    };
    // The decision to end and the removal of hub.pid happen under the segment lock, so that a
    // command reusing this hub (it pings under the same lock) either finds it gone or keeps it
    // alive with that ping; the process ends only once the lock is released.
    const endUnderLock = async (decide: () => Promise<string | undefined>, lockTimeoutMs: number) => {
      let reason: string | undefined;
      try {
        await withFileLock(
          paths.lock(dir),
          { ...segmentLock('deciding whether its hub ends'), timeoutMs: lockTimeoutMs },
          async () => {
            reason = await decide();
            if (reason !== undefined && (await pidFileNamesMe(dir)))
              await unlink(paths.pid(dir)).catch(() => {});
          },
        );
      } catch (err) {
        log(`could not take the segment lock: ${String(err)}`);
      }
      return reason;
    };
    const check = async () => {
      if (ending) return;
      await requestScan();
      // Another hub took over (or the store was removed): this one has nothing left to serve.
      if (!(await pidFileNamesMe(dir))) return finish('hub.pid names another process');
      if (Date.now() - Math.max(lastHeld, lastPing) < idleMs) return;
      const reason = await endUnderLock(async () => {
        await requestScan();
        const idleFor = Date.now() - Math.max(lastHeld, lastPing);
        return idleFor >= idleMs ? `no member VM for ${Math.round(idleFor / 1000)} s` : undefined;
      }, 5_000);
      if (reason !== undefined) finish(reason);
    };
    const onSignal = async (sig: string) => {
      await endUnderLock(async () => sig, 2_000);
      finish(sig);
    };
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      void check().finally(() => (checking = false));
    }, checkMs);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => void onSignal(sig));
  });
}

async function pidFileNamesMe(dir: string): Promise<boolean> {
  try {
    return Number.parseInt(await readFile(paths.pid(dir), 'utf8'), 10) === process.pid;
  } catch {
    return false;
  }
}

/** Bind the preferred port when it is free, else any port. */
async function bindHub(preferred: number | undefined): Promise<Socket> {
  if (preferred !== undefined) {
    try {
      return await bindOn(preferred);
    } catch {}
  }
  return bindOn(0);
}

function bindOn(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp4' });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
      sock.off('error', onError);
      // A send that fails (a VM gone) must not end the hub.
      sock.on('error', () => {});
      try {
        // Bursts from several VMs at once: room beyond the default ~200 KiB, as the kernel allows.
        sock.setRecvBufferSize(4 * 1024 * 1024);
        sock.setSendBufferSize(4 * 1024 * 1024);
      } catch {}
      resolve(sock);
    });
  });
}
