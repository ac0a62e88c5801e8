import { mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { MachineError } from '../errors.js';
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

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function expired(certPath: string): Promise<boolean> {
  return readCertInfo(await readFile(certPath)).notAfter.getTime() < Date.now();
}

/**
 * The shared CA and client certificate: made when missing, made again when expired (spec §4.1).
 * `days` exists for tests that need an expired certificate.
 */
export async function bootstrapCertificates(
  paths: CertPaths,
  log: (line: string) => void,
  opts: { days?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const org = certOrganization(opts.env);
  await mkdir(paths.CertDir, { recursive: true, mode: 0o700 });

  let caMade = false;
  if (!(await exists(paths.CaCertPath))) {
    log(`Creating CA: ${paths.CaCertPath}`);
    if (await exists(paths.CaPrivateKeyPath))
      throw new MachineError('certificate authority key already exists');
    await makeCA(paths, org, opts.days);
    caMade = true;
  } else if (await expired(paths.CaCertPath)) {
    log('CA certificate is outdated and needs to be regenerated');
    await unlink(paths.CaPrivateKeyPath).catch(() => {});
    await makeCA(paths, org, opts.days);
    caMade = true;
  }

  if (!(await exists(paths.ClientCertPath))) {
    log(`Creating client certificate: ${paths.ClientCertPath}`);
    if (await exists(paths.ClientKeyPath)) throw new MachineError('client key already exists');
    await makeClient(paths, org, opts.days);
  } else if (caMade || (await expired(paths.ClientCertPath))) {
    // A client certificate of a replaced CA would be refused by every engine.
    log('Client certificate is outdated and needs to be regenerated');
    await makeClient(paths, org, opts.days);
  }
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
  await writeCertAndKey(paths.CaCertPath, cert, paths.CaPrivateKeyPath, privateKeyPEM(key.privateKey));
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
  await writeCertAndKey(paths.ClientCertPath, cert, paths.ClientKeyPath, privateKeyPEM(key.privateKey));
}
