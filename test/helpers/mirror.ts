import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { partialFile, removeLeftoversOfSync } from '../../src/cache/partial.js';
import { buildOnce } from './build-once.js';
import { cacheDir } from './testhost.js';

const run = promisify(execFile);

/**
 * A Debian package mirror of the test's own: the .debs of some packages and everything they
 * depend on, downloaded once from Debian's mirror into the cache, indexed, and served over HTTP
 * on the test bridge's own address, for hosts that reach nothing else (the air-gapped install).
 */
export async function mirrorDir(packages: string[], log: (s: string) => void = () => {}): Promise<string> {
  const hash = createHash('sha256')
    .update(JSON.stringify({ v: 1, packages }))
    .digest('hex')
    .slice(0, 12);
  const dir = join(cacheDir(), `mirror-${hash}`);
  removeLeftoversOfSync(join(dir, 'Packages'));
  if (existsSync(join(dir, 'Packages'))) return dir;
  mkdirSync(dir, { recursive: true });
  await buildOnce(join(dir, 'Packages'), () => download(dir, packages, log), {
    what: `the test mirror of ${packages.join(' ')}`,
    log,
  });
  return dir;
}

async function download(dir: string, packages: string[], log: (s: string) => void): Promise<void> {
  const debs = join(dir, 'debs');
  mkdirSync(join(debs, 'partial'), { recursive: true });
  // An empty dpkg status makes apt fetch the whole dependency closure, not only what this
  // machine lacks; the host installs what it needs from it.
  const status = join(dir, 'empty-status');
  writeFileSync(status, '');
  log(`downloading ${packages.join(' ')} and their dependencies for the test mirror...`);
  await run(
    'apt-get',
    [
      '-q',
      '-y',
      '-o',
      `Dir::State::status=${status}`,
      '-o',
      `Dir::Cache::archives=${debs}`,
      '-o',
      'Debug::NoLocking=1',
      '--download-only',
      'install',
      ...packages,
    ],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  // The index is the mark of a complete mirror: it takes its name last, whole.
  const tmp = partialFile(join(dir, 'Packages'));
  writeFileSync(tmp, packagesIndex(debs));
  renameSync(tmp, join(dir, 'Packages'));
}

/** The Packages index apt reads (what dpkg-scanpackages writes), from each .deb's control data. */
export function packagesIndex(debs: string): string {
  let out = '';
  for (const f of readdirSync(debs)
    .filter((n) => n.endsWith('.deb'))
    .sort()) {
    const path = join(debs, f);
    const control = execFileSync('dpkg-deb', ['-f', path], { encoding: 'utf8' }).trimEnd();
    const data = readFileSync(path);
    out += `${control}\nFilename: debs/${f}\nSize: ${statSync(path).size}\n`;
    out += `MD5sum: ${createHash('md5').update(data).digest('hex')}\n`;
    out += `SHA256: ${createHash('sha256').update(data).digest('hex')}\n\n`;
  }
  return out;
}

/** Serve a mirror folder on one address (the test bridge's), nowhere else. */
export async function serveMirror(dir: string, address: string): Promise<{ url: string; close(): void }> {
  const server: Server = createServer((req, res) => {
    const rel = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    const path = join(dir, rel);
    if (rel.includes('..') || !existsSync(path) || !statSync(path).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-length', statSync(path).size);
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  const { port } = server.address() as { port: number };
  return { url: `http://${address}:${port}`, close: () => server.close() };
}
