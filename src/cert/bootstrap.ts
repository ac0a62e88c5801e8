import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fsError, MachineError } from '../errors.js';
import { writeCertAndKey } from './files.js';
import { readCertInfo } from './inspect.js';
import { loadPrivateKey, newRSAKey, privateKeyPEM } from './keys.js';
import { createCertificate, KeyUsage, validity } from './x509.js';

export interface CertPaths {
  CertDir: string;
  CaCertPath: string;
  CaPrivateKeyPath: string;
  ClientCertPath: string;
  ClientKeyPath: string;
}

/** $USER as the certificates' organization, "unknown" where it is not set (spec §4.1). */
export function certOrganization(env: NodeJS.ProcessEnv = process.env): string {
  const user = process.platform === 'win32' ? env.USERNAME : env.USER;
  return user || 'unknown';
}

/** A certificate and its key as found on disk; either may be missing or unreadable. */
interface Pair {
  cert?: X509Certificate;
  key?: KeyObject;
  badKey?: boolean;
}

async function readPair(certPath: string, keyPath: string): Promise<Pair> {
  const pair: Pair = {};
  const certPem = await readIfThere(certPath);
  const keyPem = await readIfThere(keyPath);
  try {
    if (certPem) pair.cert = new X509Certificate(certPem);
  } catch {}
  // A key that does not parse counts as there but unusable: a half pair when the store owns it.
  try {
    if (keyPem) pair.key = createPrivateKey(keyPem);
  } catch {
    pair.key = undefined;
    pair.badKey = true;
  }
  if (certPem && !pair.cert) throw new MachineError(`reading ${certPath}: not a PEM certificate`);
  return pair;
}

async function readIfThere(p: string): Promise<Buffer | undefined> {
  try {
    return await readFile(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError('reading', p, err);
  }
}

function whole(pair: Pair): pair is Required<Pair> {
  return !!pair.cert && !!pair.key && pair.cert.checkPrivateKey(pair.key);
}

/** Expired, or (with `withinMs`, on the explicit regenerate-certs --client-certs) about to. */
function expired(cert: X509Certificate, withinMs = 0): boolean {
  return new Date(cert.validTo).getTime() - withinMs < Date.now();
}

/**
 * The store's own files are the ones at their default names in the certs folder; files a user
 * named with --tls-* are never replaced, whatever state they are in.
 */
function ownFiles(paths: CertPaths, certPath: string, certName: string, keyPath: string, keyName: string) {
  return (
    resolve(certPath) === resolve(paths.CertDir, certName) &&
    resolve(keyPath) === resolve(paths.CertDir, keyName)
  );
}

/**
 * What a kill between writing a pair's two files leaves, in this release's order (a key without
 * its certificate) or in the order of earlier releases and the original (a certificate without its
 * key): nobody can have used such a pair, so it is made again. (A replacement cut short leaves an
 * expired certificate or one of a replaced CA, which are made again anyway; a certificate with
 * another key is no kill's doing and is left for the user.) A certificate counts only if it has
 * the shape this tool gives it (a self-signed CA; a client certificate of organization
 * "USER.<bootstrap>"), so that a certificate a user put in the store is never replaced.
 */
function halfPairLeftByKill(pair: Pair, kind: 'ca' | 'client'): boolean {
  if (!pair.cert) return !!pair.key || !!pair.badKey;
  if (pair.key) return false;
  if (kind === 'ca') return pair.cert.ca && pair.cert.checkIssued(pair.cert);
  // Node escapes the angle brackets of the subject: O=user.\<bootstrap\>.
  return /(?:^|\n)O=.*\.\\?<bootstrap\\?>(?:\n|$)/.test(pair.cert.subject);
}

/**
 * The shared CA and client certificate: made when missing, made again when expired (spec §4.1),
 * or with `renewWithinMs` when they expire within that long. `days` exists for tests that need
 * an expired certificate.
 */
export async function bootstrapCertificates(
  paths: CertPaths,
  log: (line: string) => void,
  opts: { days?: number; env?: NodeJS.ProcessEnv; renewWithinMs?: number } = {},
): Promise<void> {
  const within = opts.renewWithinMs ?? 0;
  const org = certOrganization(opts.env);
  try {
    await mkdir(paths.CertDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fsError('creating the folder', paths.CertDir, err);
  }

  let caMade = false;
  const ca = await readPair(paths.CaCertPath, paths.CaPrivateKeyPath);
  const caOwn = ownFiles(paths, paths.CaCertPath, 'ca.pem', paths.CaPrivateKeyPath, 'ca-key.pem');
  if (!ca.cert && !ca.key && !ca.badKey) {
    log(`Creating CA: ${paths.CaCertPath}`);
    await makeCA(paths, org, opts.days);
    caMade = true;
  } else if (caOwn && halfPairLeftByKill(ca, 'ca')) {
    // Said as for a new store: to the user this is the CA's first whole appearance.
    log(`Creating CA: ${paths.CaCertPath}`);
    await makeCA(paths, org, opts.days);
    caMade = true;
  } else if (!ca.cert) {
    throw new MachineError('certificate authority key already exists');
  } else if (!ca.key) {
    // Not ours to replace: the user named these files, or put a certificate of their own here.
    throw new MachineError(
      `the CA certificate ${paths.CaCertPath} has no private key at ${paths.CaPrivateKeyPath}: put the key there, or move both away to make a new CA`,
    );
  } else if (expired(ca.cert, within)) {
    // Checked before the pair: a kill while replacing an expired CA leaves the new key beside it.
    log('CA certificate is outdated and needs to be regenerated');
    await makeCA(paths, org, opts.days);
    caMade = true;
  } else if (!whole(ca)) {
    throw new MachineError(
      `the CA certificate ${paths.CaCertPath} does not match its key ${paths.CaPrivateKeyPath}: put the right key there, or move both away to make a new CA`,
    );
  }

  const client = await readPair(paths.ClientCertPath, paths.ClientKeyPath);
  const clientOwn = ownFiles(paths, paths.ClientCertPath, 'cert.pem', paths.ClientKeyPath, 'key.pem');
  if (!client.cert && !client.key && !client.badKey) {
    log(`Creating client certificate: ${paths.ClientCertPath}`);
    await makeClient(paths, org, opts.days);
  } else if (clientOwn && halfPairLeftByKill(client, 'client')) {
    log(`Creating client certificate: ${paths.ClientCertPath}`);
    await makeClient(paths, org, opts.days);
  } else if (!client.cert) {
    throw new MachineError('client key already exists');
  } else if (!client.key) {
    throw new MachineError(
      `the client certificate ${paths.ClientCertPath} has no private key at ${paths.ClientKeyPath}: put the key there, or move both away to make new ones`,
    );
  } else if (
    caMade ||
    expired(client.cert, within) ||
    (clientOwn && !(await signedByCA(client.cert, paths)))
  ) {
    // A client certificate of a replaced CA would be refused by every engine (and a kill between
    // making a new CA and its client certificate leaves exactly that).
    log('Client certificate is outdated and needs to be regenerated');
    await makeClient(paths, org, opts.days);
  } else if (!whole(client)) {
    throw new MachineError(
      `the client certificate ${paths.ClientCertPath} does not match its key ${paths.ClientKeyPath}: put the right key there, or move both away to make new ones`,
    );
  }
}

async function signedByCA(cert: X509Certificate, paths: CertPaths): Promise<boolean> {
  const ca = await readPair(paths.CaCertPath, paths.CaPrivateKeyPath);
  return !!ca.cert && cert.checkIssued(ca.cert) && cert.verify(ca.cert.publicKey);
}

async function makeCA(paths: CertPaths, org: string, days?: number): Promise<void> {
  const key = await newRSAKey();
  const cert = createCertificate(
    {
      organization: org,
      ...validity(new Date(), days),
      isCA: true,
      keyUsage: [
        KeyUsage.digitalSignature,
        KeyUsage.keyEncipherment,
        KeyUsage.keyAgreement,
        KeyUsage.certSign,
      ],
      extKeyUsage: [],
      hosts: [],
      publicKey: key.publicKey,
    },
    { organization: org, ...key },
  );
  await writeCertAndKey(
    paths.CaCertPath,
    cert,
    paths.CaPrivateKeyPath,
    privateKeyPEM(key.privateKey),
    'ca-key-written',
  );
}

async function makeClient(paths: CertPaths, org: string, days?: number): Promise<void> {
  const ca = loadPrivateKey(await readFile(paths.CaPrivateKeyPath));
  const caOrg = readCertInfo(await readFile(paths.CaCertPath)).organization;
  const key = await newRSAKey();
  const cert = createCertificate(
    {
      organization: `${org}.<bootstrap>`,
      ...validity(new Date(), days),
      isCA: false,
      keyUsage: [KeyUsage.digitalSignature],
      extKeyUsage: ['clientAuth'],
      hosts: [],
      publicKey: key.publicKey,
    },
    { organization: caOrg, ...ca },
  );
  await writeCertAndKey(
    paths.ClientCertPath,
    cert,
    paths.ClientKeyPath,
    privateKeyPEM(key.privateKey),
    'client-key-written',
  );
}
