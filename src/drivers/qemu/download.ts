import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { debug } from '../../debug.js';
import { errorMessage, MachineError } from '../../errors.js';
import { withFileLock } from '../../store/lock.js';
import { pauseAt } from '../../test-pause.js';

/**
 * Downloads a machine image once into the cache: progress every 10 %, a resumed transfer where
 * the server allows it (else a fresh one), a checksum check before the file takes its final name
 * (so a file there is a verified file), and a clear error when the server cannot be reached at
 * all, which the default image's fallback needs to tell apart from other failures.
 */

/** The server could not be reached: no DNS answer, refused, or no answer in time. */
export class UnreachableError extends MachineError {
  constructor(
    readonly url: string,
    readonly code: string,
  ) {
    super(`cannot reach ${new URL(url).host} to download ${url} (${code})`);
  }
}

const UNREACHABLE = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);

export interface Checksum {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/** 'sha256:HEX' or 'sha512:HEX' (what --qemu-image-checksum takes). */
export function parseChecksum(s: string): Checksum {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(s.trim());
  const len = { sha256: 64, sha512: 128 };
  if (!m || m[2].length !== len[m[1] as Checksum['algorithm']]) {
    throw new MachineError(
      `the image checksum "${s}" is not sha256:HEX (64 hex digits) or sha512:HEX (128 hex digits)`,
    );
  }
  return { algorithm: m[1] as Checksum['algorithm'], hex: m[2].toLowerCase() };
}

export interface DownloadOptions {
  url: string;
  /** The downloads folder of the cache. */
  dir: string;
  checksum?: string;
  log(line: string): void;
  signal?: AbortSignal;
  /** How long a connection may stay silent (connect, headers, body). */
  idleTimeoutMs?: number;
}

/** The cached file for the URL, downloaded and verified first when it is not there yet. */
export async function download(o: DownloadOptions): Promise<string> {
  const url = new URL(o.url);
  const file = join(
    o.dir,
    `${createHash('sha256').update(o.url).digest('hex').slice(0, 12)}-${fileName(url)}`,
  );
  const given = o.checksum ? parseChecksum(o.checksum) : undefined;
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  // A download may take long: waiters wait as long as the downloading process lives and refreshes the lock.
  return withFileLock(
    `${file}.lock`,
    {
      what: `The download of ${o.url}`,
      doing: `downloading ${o.url}`,
      log: o.log,
      timeoutMs: Number.POSITIVE_INFINITY,
    },
    async () => {
      if (existsSync(file)) {
        // A cached file was verified when it came; a checksum given now is checked again.
        if (!given || (await hashFile(file, given.algorithm)) === given.hex) return file;
        o.log(`The cached copy of ${o.url} does not match the given checksum: downloading it again`);
        await rm(file, { force: true });
      }
      const want = given ?? (await publishedChecksum(url, o));
      await fetchTo(url, file, o);
      if (want) {
        const got = await hashFile(`${file}.part`, want.algorithm);
        if (got !== want.hex) {
          await dropPart(file);
          throw new MachineError(
            `the download of ${o.url} does not match its ${want.algorithm} checksum (expected ${want.hex.slice(0, 16)}..., got ${got.slice(0, 16)}...); the file was deleted: check the URL${given ? ' and --qemu-image-checksum' : ''}`,
          );
        }
        o.log(`Checked the download against its ${want.algorithm} checksum`);
      }
      await rename(`${file}.part`, file);
      await rm(`${file}.part.json`, { force: true });
      return file;
    },
  );
}

function fileName(url: URL): string {
  return baseName(url).replace(/[^A-Za-z0-9._-]/g, '_') || 'image';
}

/** The last part of the URL's path, as a SHA*SUMS file names it. */
function baseName(url: URL): string {
  const name = basename(url.pathname);
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

async function dropPart(file: string): Promise<void> {
  await rm(`${file}.part`, { force: true });
  await rm(`${file}.part.json`, { force: true });
}

export async function hashFile(path: string, algorithm: Checksum['algorithm']): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * The checksum published next to the image (SHA512SUMS or SHA256SUMS in the same folder, as
 * Debian's cloud images have), or undefined after saying there is none.
 */
async function publishedChecksum(url: URL, o: DownloadOptions): Promise<Checksum | undefined> {
  const name = baseName(url);
  for (const [sums, algorithm] of [
    ['SHA512SUMS', 'sha512'],
    ['SHA256SUMS', 'sha256'],
  ] as const) {
    const sumsUrl = new URL(sums, url);
    let text: string;
    try {
      const res = await get(sumsUrl, {}, o);
      if (res.statusCode !== 200) {
        res.resume();
        continue;
      }
      text = await readBody(res, 1 << 20);
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      continue;
    }
    const hex = findSum(text, name, algorithm === 'sha512' ? 128 : 64);
    if (hex) return { algorithm, hex };
    o.log(`${sumsUrl.href} lists no checksum for ${name}`);
  }
  o.log(
    `No checksum for ${url.href} (none given with --qemu-image-checksum, no SHA512SUMS or SHA256SUMS next to it): the download is not verified`,
  );
  return undefined;
}

/** GNU style "HEX  NAME" / "HEX *NAME", or BSD style "SHA512 (NAME) = HEX". */
export function findSum(text: string, name: string, hexLength: number): string | undefined {
  for (const line of text.split('\n')) {
    const gnu = /^([0-9a-fA-F]+) [ *](.+)$/.exec(line.trim());
    if (gnu && gnu[2] === name && gnu[1].length === hexLength) return gnu[1].toLowerCase();
    const bsd = /^SHA(?:256|512) \((.+)\) = ([0-9a-fA-F]+)$/.exec(line.trim());
    if (bsd && bsd[1] === name && bsd[2].length === hexLength) return bsd[2].toLowerCase();
  }
  return undefined;
}

interface PartMeta {
  url: string;
  validator: string;
}

/** Downloads into FILE.part, resuming an earlier part when the server still has the same file. */
async function fetchTo(url: URL, file: string, o: DownloadOptions): Promise<void> {
  const part = `${file}.part`;
  const metaPath = `${file}.part.json`;
  let offset = 0;
  let validator: string | undefined;
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as PartMeta;
    if (meta.url === url.href && existsSync(part)) {
      offset = (await stat(part)).size;
      validator = meta.validator;
    }
  } catch {}
  const headers: Record<string, string> =
    offset > 0 && validator ? { range: `bytes=${offset}-`, 'if-range': validator } : {};
  const res = await get(url, headers, o);
  let total: number | undefined;
  if (res.statusCode === 206 && offset > 0 && res.headers['content-range']?.startsWith(`bytes ${offset}-`)) {
    total = Number(res.headers['content-range'].split('/')[1]) || undefined;
    o.log(`Resuming the download of ${url.href} at ${Math.round(offset / 1e6)} MB...`);
  } else if (res.statusCode === 200) {
    offset = 0;
    total = Number(res.headers['content-length']) || undefined;
    o.log(`Downloading ${url.href}${total ? ` (${Math.round(total / 1e6)} MB)` : ''}...`);
  } else {
    res.resume();
    throw new MachineError(
      `downloading ${url.href} failed: the server answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
    );
  }
  // A later attempt may resume only if the server can say that the file has not changed since.
  const v = res.headers.etag ?? res.headers['last-modified'];
  if (v && offset === 0)
    await writeFile(metaPath, JSON.stringify({ url: url.href, validator: v } satisfies PartMeta));
  else if (!v) await rm(metaPath, { force: true });

  let received = offset;
  let shown = total ? Math.floor((offset / total) * 10) : 0;
  let halfway = false;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      const step = total ? Math.floor((received / total) * 10) : Math.floor(received / 100e6);
      if (step > shown && (!total || received < total)) {
        shown = step;
        o.log(
          total
            ? `Downloading: ${step * 10}% (${Math.round(received / 1e6)} of ${Math.round(total / 1e6)} MB)`
            : `Downloading: ${Math.round(received / 1e6)} MB`,
        );
      }
      if (total && !halfway && received >= total / 2) {
        halfway = true;
        // Tests kill a download here: what is written so far stays FILE.part, for a resume.
        pauseAt('download-half').then(() => done(null, chunk), done);
      } else done(null, chunk);
    },
  });
  try {
    await pipeline(res, progress, createWriteStream(part, { flags: offset > 0 ? 'a' : 'w', mode: 0o600 }), {
      signal: o.signal,
    });
  } catch (err) {
    throw new MachineError(
      `downloading ${url.href} stopped at ${Math.round(received / 1e6)} MB (${errorMessage(err)}); run the command again to resume`,
    );
  }
  if (total !== undefined && received !== total) {
    throw new MachineError(
      `downloading ${url.href} stopped at ${Math.round(received / 1e6)} of ${Math.round(total / 1e6)} MB; run the command again to resume`,
    );
  }
}

/** One GET, following redirects; an UnreachableError when no connection could be made. */
async function get(
  url: URL,
  headers: Record<string, string>,
  o: Pick<DownloadOptions, 'signal' | 'idleTimeoutMs'>,
  redirects = 5,
): Promise<IncomingMessage> {
  const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const timeout = o.idleTimeoutMs ?? 30_000;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = mod.get(url, {
      headers: { 'user-agent': 'docker-machine', ...headers },
      timeout,
      signal: o.signal,
    });
    req.on('response', resolve);
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Errors before any answer mean no connection; the fallback to a local build needs these.
      if (err.code && UNREACHABLE.has(err.code)) reject(new UnreachableError(url.href, err.code));
      else if (err.name === 'AbortError') reject(new MachineError(`downloading ${url.href}: cancelled`));
      else reject(new MachineError(`downloading ${url.href} failed: ${errorMessage(err)}`));
    });
  });
  debug(() => `download: GET ${url.href}${headers.range ? ` (${headers.range})` : ''} -> ${res.statusCode}`);
  const location = res.headers.location;
  if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
    res.resume();
    if (redirects === 0) throw new MachineError(`downloading ${url.href} failed: too many redirects`);
    return get(new URL(location, url), headers, o, redirects - 1);
  }
  // A body that stalls after the headers also ends the download.
  res.setTimeout(timeout, () => res.destroy(new Error(`no data for ${Math.round(timeout / 1000)} s`)));
  return res;
}

function readBody(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      body += d;
      if (body.length > limit) res.destroy(new Error('checksum file too large'));
    });
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}
