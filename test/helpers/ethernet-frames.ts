import { parseMac } from '../../src/drivers/qemu/segment-switch.js';

/** Ethernet frames for tests of the qemu segment's switch and hub. */

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** An Ethernet frame with a local experimental EtherType and a text payload naming it. */
export function frame(dst: string, src: string, tag: string): Buffer {
  const b = Buffer.alloc(14 + Buffer.byteLength(tag));
  b.writeUIntBE(parseMac(dst)!, 0, 6);
  b.writeUIntBE(parseMac(src)!, 6, 6);
  b.writeUInt16BE(0x88b5, 12);
  b.write(tag, 14);
  return b;
}

/** The payload that frame() put in. */
export const tagOf = (b: Buffer) => b.subarray(14).toString();
