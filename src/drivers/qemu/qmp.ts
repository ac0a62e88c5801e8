import { createConnection, type Socket } from 'node:net';
import { errorMessage, MachineError } from '../../errors.js';

/**
 * A QMP (QEMU Machine Protocol) client over the machine's unix socket. QEMU serves one monitor
 * client at a time, so every use is one short session: connect, read the greeting, negotiate
 * capabilities, run the commands, close.
 */

export interface QMPStatus {
  status: string;
  running: boolean;
}

interface Reply {
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  QMP?: unknown;
}

export class QMPError extends MachineError {}

export class QMPSession {
  private buf = '';
  private waiting: ((r: Reply) => void)[] = [];
  private failed: Error | undefined;
  private failWaiters: ((e: Error) => void)[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (line === '') continue;
        let msg: Reply;
        try {
          msg = JSON.parse(line) as Reply;
        } catch {
          continue;
        }
        // Events arrive between replies; only the lifecycle code that waits for the process needs them.
        if (msg.event !== undefined) continue;
        this.waiting.shift()?.(msg);
      }
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const f of this.failWaiters.splice(0)) f(this.failed);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('QEMU closed the monitor connection')));
  }

  static async open(path: string, timeoutMs = 5000): Promise<QMPSession> {
    const sock = createConnection(path);
    const session = new QMPSession(sock);
    try {
      await session.next(timeoutMs); // greeting
      await session.execute('qmp_capabilities', undefined, timeoutMs);
    } catch (err) {
      sock.destroy();
      throw new QMPError(`QEMU monitor at ${path}: ${errorMessage(err)}`);
    }
    return session;
  }

  private next(timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (r: Reply) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiting.push(done);
      this.failWaiters.push((e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async execute<T = unknown>(command: string, args?: object, timeoutMs = 5000): Promise<T> {
    const reply = this.next(timeoutMs);
    this.sock.write(
      `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
    );
    const r = await reply;
    if (r.error) throw new QMPError(`QEMU refused ${command}: ${r.error.desc}`);
    return r.return as T;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One command in a session of its own. */
export async function qmp<T = unknown>(path: string, command: string, args?: object): Promise<T> {
  const s = await QMPSession.open(path);
  try {
    return await s.execute<T>(command, args);
  } finally {
    s.close();
  }
}

/**
 * `quit` makes QEMU exit before it answers at times: a closed connection after the command was
 * sent is the expected end, not a failure.
 */
export async function qmpQuit(path: string): Promise<void> {
  const s = await QMPSession.open(path);
  try {
    await s.execute('quit');
  } catch (err) {
    if (!/closed the monitor|ECONNRESET|EPIPE/.test(errorMessage(err))) throw err;
  } finally {
    s.close();
  }
}
