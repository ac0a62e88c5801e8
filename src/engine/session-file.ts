import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSMaterial } from './tls.js';
import type { SessionStore, VerifiedSession } from './verified-tls.js';

/**
 * TLS sessions of the connection check (`env`, `config`), one file per engine and client
 * identity in the store's cache folder, so that the next command resumes instead of making a
 * full handshake. A session grants what the client key grants (the engine remembers the client
 * certificate in it), so the file is private (0600 in a 0700 folder), as the key itself is, and
 * its name is a hash. A missing, unreadable or foreign file only means a full handshake.
 */

const FORMAT = 1;
/** After a full handshake that gave no session, how long commands do not wait for one. */
const NO_TICKETS_MS = 24 * 3600_000;

interface SessionFileData {
  format: number;
  session?: string;
  validFrom?: number;
  validTo?: number;
  noTicketsUntil?: number;
}

export async function sessionFile(
  cacheDir: string,
  host: string,
  port: number,
  tls: TLSMaterial,
): Promise<SessionStore> {
  // node:crypto is loaded with node:tls, which the check needs anyway.
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (const part of [host, String(port), tls.ca, tls.cert, tls.key]) {
    h.update(`${part.length}:`);
    h.update(part);
  }
  const dir = join(cacheDir, 'tls-sessions');
  // A session Node's OpenSSL wrote is not one Bun's TLS can resume, nor the other way round: in
  // one file, the Node build and the executable would each replace the other's session with a
  // full handshake's, every time they took turns (ls over a hundred engines: a hundred).
  const runtime = (globalThis as { Bun?: unknown }).Bun === undefined ? '' : '.bun-node-tls';
  const path = join(dir, `${h.digest('hex')}${runtime}.json`);

  const write = (data: SessionFileData) => {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
      renameSync(tmp, path);
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {}
    }
  };

  return {
    load() {
      let data: SessionFileData;
      try {
        data = JSON.parse(readFileSync(path, 'utf8')) as SessionFileData;
      } catch {
        return undefined;
      }
      if (data.format !== FORMAT) return undefined;
      if (typeof data.noTicketsUntil === 'number' && Date.now() < data.noTicketsUntil) return 'no-tickets';
      if (
        typeof data.session !== 'string' ||
        typeof data.validFrom !== 'number' ||
        typeof data.validTo !== 'number'
      ) {
        return undefined;
      }
      return {
        session: Buffer.from(data.session, 'base64'),
        validFrom: data.validFrom,
        validTo: data.validTo,
      };
    },
    save(s: VerifiedSession) {
      write({
        format: FORMAT,
        session: s.session.toString('base64'),
        validFrom: s.validFrom,
        validTo: s.validTo,
      });
    },
    saveNoTickets() {
      write({ format: FORMAT, noTicketsUntil: Date.now() + NO_TICKETS_MS });
    },
  };
}
