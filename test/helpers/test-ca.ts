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
