import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapCertificates } from '../../src/cert/bootstrap.js';

/** A CA and client certificate of their own in DIR/NAME (ca.pem, ca-key.pem, cert.pem, key.pem). */
export function makeTestCA(dir: string, name: string): Promise<void> {
  const p = (f: string) => join(dir, name, f);
  return bootstrapCertificates(
    {
      CertDir: join(dir, name),
      CaCertPath: p('ca.pem'),
      CaPrivateKeyPath: p('ca-key.pem'),
      ClientCertPath: p('cert.pem'),
      ClientKeyPath: p('key.pem'),
    },
    () => {},
  );
}

/** The TLS material a client of DIR/NAME's CA presents: that CA, and its client certificate and key. */
export async function testClientTLS(
  dir: string,
  name: string,
): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
  const [ca, cert, key] = await Promise.all(
    ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(join(dir, name, f))),
  );
  return { ca, cert, key };
}
