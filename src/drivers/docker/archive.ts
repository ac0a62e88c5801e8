/**
 * A tar archive of a few small files, for the archive endpoint (PUT /containers/{id}/archive):
 * how the machine's public key goes into its container before it starts. POSIX ustar, root-owned.
 */
export interface TarEntry {
  path: string;
  mode: number;
  /** A directory when absent. */
  content?: string;
}

export function tarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const e of entries) {
    const isDir = e.content === undefined;
    const data = Buffer.from(e.content ?? '');
    const h = Buffer.alloc(512);
    const name = isDir && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: path too long: ${name}`);
    h.write(name, 0, 'utf8');
    octal(h, 100, 8, e.mode);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, data.length);
    octal(h, 136, 12, mtime);
    h.fill(' ', 148, 156);
    h.write(isDir ? '5' : '0', 156);
    h.write('ustar\x0000', 257, 'binary');
    h.write('root', 265);
    h.write('root', 297);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'binary');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function octal(h: Buffer, off: number, len: number, n: number): void {
  h.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, 'binary');
}
