import { createSocket } from 'node:dgram';

/**
 * Control datagrams of the segment hub. A request is 9 bytes: the magic "DMSG", an op and a
 * nonce. Shorter than an Ethernet header (14 bytes), it can never be mistaken for a frame, and
 * the hub never forwards it. The answer is the magic, the op in lower case, the nonce and JSON.
 */
const MAGIC = Buffer.from('DMSG', 'latin1');
export const CONTROL_LENGTH = 9;

export type ControlOp = 'P' | 'R';
/** P: are you there (answered with the hub's status); R: read the members folder now. */
export const PING: ControlOp = 'P';
export const RESCAN: ControlOp = 'R';

export interface HubStatus {
  pid: number;
  port: number;
  /** Frames received and forwarded since the hub started. */
  frames: number;
  /** Endpoints frames are flooded to ("127.0.0.1:PORT"). */
  endpoints: string[];
  /** Learned MAC addresses and where they are. */
  macs: Array<{ mac: string; endpoint: string }>;
}

export function encodeRequest(op: ControlOp, nonce: number): Buffer {
  const b = Buffer.alloc(CONTROL_LENGTH);
  MAGIC.copy(b, 0);
  b.write(op, 4, 'latin1');
  b.writeUInt32BE(nonce >>> 0, 5);
  return b;
}

export function decodeRequest(b: Buffer): { op: ControlOp; nonce: number } | undefined {
  if (b.length !== CONTROL_LENGTH || !b.subarray(0, 4).equals(MAGIC)) return undefined;
  const op = String.fromCharCode(b[4]);
  if (op !== PING && op !== RESCAN) return undefined;
  return { op, nonce: b.readUInt32BE(5) };
}

export function encodeAnswer(op: ControlOp, nonce: number, body: unknown): Buffer {
  const head = encodeRequest(op, nonce);
  head[4] = head[4] | 0x20;
  return Buffer.concat([head, Buffer.from(JSON.stringify(body))]);
}

function decodeAnswer(b: Buffer, op: ControlOp, nonce: number): unknown {
  if (b.length < CONTROL_LENGTH || !b.subarray(0, 4).equals(MAGIC)) return undefined;
  if (b[4] !== (op.charCodeAt(0) | 0x20) || b.readUInt32BE(5) !== nonce >>> 0) return undefined;
  try {
    return JSON.parse(b.subarray(CONTROL_LENGTH).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Ask the hub on 127.0.0.1:port, sending again every 200 ms (UDP may drop) until it answers or
 * timeoutMs passes. Undefined when nothing answered in time.
 */
export function askHub(port: number, op: ControlOp, timeoutMs = 1500): Promise<unknown> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const nonce = Math.floor(Math.random() * 0x1_0000_0000);
    const req = encodeRequest(op, nonce);
    let done = false;
    let resend: NodeJS.Timeout | undefined;
    const finish = (v: unknown) => {
      if (done) return;
      done = true;
      clearInterval(resend);
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== '127.0.0.1' || rinfo.port !== port) return;
      const body = decodeAnswer(msg, op, nonce);
      if (body !== undefined) finish(body);
    });
    sock.bind(0, '127.0.0.1', () => {
      const send = () => sock.send(req, port, '127.0.0.1', () => {});
      send();
      resend = setInterval(send, 200);
    });
  });
}

/** The hub's status, or undefined when no hub answers on that port. */
export async function pingHub(port: number, timeoutMs = 1500): Promise<HubStatus | undefined> {
  const body = await askHub(port, PING, timeoutMs);
  if (typeof body !== 'object' || body === null) return undefined;
  return body as HubStatus;
}
