import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../store/atomic.js';

/**
 * The machine's known_hosts, in OpenSSH's format so that the external ssh reads the same pins:
 * `[host]:port <type> <base64 blob>`.
 */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function pinnedKeys(path: string, host: string, port: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const pattern = hostPattern(host, port);
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[0].split(',').includes(pattern))
    .map((f) => `${f[1]} ${f[2]}`);
}

/** The key type an SSH public key blob names in its first string. */
export function blobType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString();
}

export async function pinKey(path: string, host: string, port: number, blob: Buffer): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {}
  const line = `${hostPattern(host, port)} ${blobType(blob)} ${blob.toString('base64')}\n`;
  await writeFileAtomic(path, text + (text === '' || text.endsWith('\n') ? '' : '\n') + line, 0o600);
}
