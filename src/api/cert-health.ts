import { certNotAfter } from '../cert/not-after.js';
import { isSSHEngine } from '../engine/endpoint.js';
import type { TLSMaterial } from '../engine/tls.js';
import { readFileSync } from '../runtime/fs.js';
import type { Machine } from './machine.js';

/**
 * Whether a machine's server certificate still fits it: it must name the address the machine is
 * reached at now (a VM or cloud server that came back with a new IP is not named by the old one),
 * be signed by the store's CA (a renewed CA leaves every older server certificate behind), and
 * not be about to expire. start, env and config make a new one when it does not fit (see
 * cert-heal.ts); ls only says so. docs/certificates.md tells the whole policy.
 */

/** Certificates are renewed, or warned about, this long before they expire. */
export const RENEW_WITHIN_MS = 30 * 86_400_000;

export type CertProblem =
  /** The machine is reached at `host`, which the certificate does not name. */
  | { kind: 'address'; host: string }
  /** Expires within RENEW_WITHIN_MS, or expired. */
  | { kind: 'expiring'; notAfter: number }
  /** Not signed by the store's CA. */
  | { kind: 'issuer' }
  /** The engine refused the connection for its certificate although the store's copy fits. */
  | { kind: 'served'; reason: string };

/** MACHINE_NO_CERT_HEAL=1 turns the healing off: the original's error with its hint instead. */
export function certHealEnabled(env: NodeJS.ProcessEnv): boolean {
  return !/^(1|true|yes|on)$/i.test(env.MACHINE_NO_CERT_HEAL ?? '');
}

/** A day as people write it: 2027-01-31 (UTC). */
export function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** What is wrong, for a message that goes on with what is done about it. */
export function problemText(p: CertProblem, now = Date.now()): string {
  switch (p.kind) {
    case 'address':
      return `The machine's address changed to ${p.host}, which its certificate does not name`;
    case 'expiring':
      return p.notAfter < now
        ? `The machine's server certificate expired on ${day(p.notAfter)}`
        : `The machine's server certificate expires on ${day(p.notAfter)}`;
    case 'issuer':
      return "The machine's server certificate was not signed by the store's current CA";
    case 'served':
      return `The machine's engine shows a certificate that does not fit (${p.reason})`;
  }
}

/**
 * The common path of env and config (their TLS check passed): whether the store's server
 * certificate expires within RENEW_WITHIN_MS. One small read and no X.509 parser.
 */
export function serverCertExpiring(m: Machine, now = Date.now()): CertProblem | undefined {
  if (!healable(m)) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(m.config.HostOptions.AuthOptions.ServerCertPath);
  } catch {
    return undefined;
  }
  const notAfter = certNotAfter(pem);
  if (notAfter === undefined || notAfter - now >= RENEW_WITHIN_MS) return undefined;
  return { kind: 'expiring', notAfter };
}

/**
 * The whole look at the store's server certificate: it names every one of `hosts`, was signed by
 * the store's CA and is not about to expire. Undefined when it fits, or when there is nothing to
 * judge (no server certificate: a `none` machine's engine is someone else's).
 */
export async function serverCertProblem(
  m: Machine,
  hosts: string[],
  now = Date.now(),
): Promise<CertProblem | undefined> {
  if (!healable(m)) return undefined;
  const auth = m.config.HostOptions.AuthOptions;
  const [{ X509Certificate }, { certCoversHost, readCertInfo }] = await Promise.all([
    import('node:crypto'),
    import('../cert/inspect.js'),
  ]);
  let pem: Buffer;
  try {
    pem = readFileSync(auth.ServerCertPath);
  } catch {
    return undefined;
  }
  let info: ReturnType<typeof readCertInfo>;
  let cert: InstanceType<typeof X509Certificate>;
  try {
    info = readCertInfo(pem);
    cert = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  for (const h of hosts) {
    if (h !== '' && !certCoversHost(info, h)) return { kind: 'address', host: h };
  }
  try {
    const ca = new X509Certificate(readFileSync(auth.CaCertPath));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { kind: 'issuer' };
  } catch {
    // An unreadable CA is the TLS check's to report, with its own words.
  }
  const notAfter = info.notAfter.getTime();
  if (notAfter - now < RENEW_WITHIN_MS) return { kind: 'expiring', notAfter };
  return undefined;
}

/**
 * The names the server certificate must hold: the host of the machine's URL and the driver's own
 * extra names (a container's address on its network). `url` when the caller has it already.
 */
export async function certHosts(m: Machine, url?: string): Promise<string[]> {
  const u = url ?? (await m.driver.getURL());
  const hosts = [new URL(u.replace(/^tcp:/, 'https:')).hostname.replace(/^\[|\]$/g, '')];
  const endpoint = await m.driver.engineEndpoint?.();
  for (const san of endpoint?.certSANs ?? []) if (!hosts.includes(san)) hosts.push(san);
  return hosts;
}

/** Node's TLS error codes that a new server certificate can cure. */
const CERT_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** The TLS error code somewhere in an error's chain of causes, when it is about the certificate. */
export function certErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 10; i++) {
    if (typeof e.code === 'string' && CERT_CODES.has(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * One line for each of the store's CA and client certificate that expires within
 * RENEW_WITHIN_MS (or has expired), naming the day and the command that renews it. They are
 * never renewed behind the user's back: a new CA leaves every machine's server certificate behind.
 */
export function sharedCertWarnings(m: Machine, tls: TLSMaterial, now = Date.now()): string[] {
  const auth = m.config.HostOptions.AuthOptions;
  const fix = `'docker-machine regenerate-certs --client-certs ${m.name}'`;
  const out: string[] = [];
  const ca = certNotAfter(tls.ca);
  if (ca !== undefined && ca - now < RENEW_WITHIN_MS) {
    out.push(
      `Warning: the CA certificate ${auth.CaCertPath} ${ca < now ? 'expired' : 'expires'} on ${day(ca)}; ${fix} renews it (each machine's server certificate is then reissued by its next start, env or config)`,
    );
  }
  const client = certNotAfter(tls.cert);
  if (client !== undefined && client - now < RENEW_WITHIN_MS) {
    out.push(
      `Warning: the client certificate ${auth.ClientCertPath} ${client < now ? 'expired' : 'expires'} on ${day(client)}; ${fix} renews it`,
    );
  }
  return out;
}

/** Machines whose engine we provisioned over SSH; a `none` machine's engine is someone else's. */
export function healable(m: Machine): boolean {
  return (
    m.config.DriverName !== 'none' &&
    m.config.HostOptions.AuthOptions.ServerCertPath !== '' &&
    // An SSH-only engine has no server certificate to heal.
    !isSSHEngine(m.config)
  );
}
