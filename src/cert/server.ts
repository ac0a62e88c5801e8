import { readFile } from 'node:fs/promises';
import { errorMessage, MachineError } from '../errors.js';
import { writeCertAndKey } from './files.js';
import { readCertInfo } from './inspect.js';
import { loadPrivateKey, newRSAKey, privateKeyPEM } from './keys.js';
import { createCertificate, KeyUsage, validity } from './x509.js';

/**
 * A machine's server certificate, signed by the store's CA (spec §4.3). Callers pass the hosts in
 * the original's order: the --tls-san entries, then the machine's IP, then "localhost".
 */
export async function generateServerCert(opts: {
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  org: string;
  hosts: string[];
  clientAuth?: boolean;
  /** Validity in days (the original's 1080); tests make short-lived ones. */
  days?: number;
}): Promise<void> {
  try {
    const ca = loadPrivateKey(await readFile(opts.caKeyPath));
    const caOrg = readCertInfo(await readFile(opts.caCertPath)).organization;
    const key = await newRSAKey();
    const cert = createCertificate(
      {
        organization: opts.org,
        ...validity(new Date(), opts.days),
        isCA: false,
        keyUsage: [KeyUsage.digitalSignature, KeyUsage.keyEncipherment, KeyUsage.keyAgreement],
        extKeyUsage: opts.clientAuth ? ['serverAuth', 'clientAuth'] : ['serverAuth'],
        hosts: opts.hosts,
        publicKey: key.publicKey,
      },
      { organization: caOrg, ...ca },
    );
    await writeCertAndKey(opts.certPath, cert, opts.keyPath, privateKeyPEM(key.privateKey));
  } catch (err) {
    throw new MachineError(`error generating server cert: ${errorMessage(err)}`, { cause: err });
  }
}
