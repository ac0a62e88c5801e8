import { MachineError } from '../errors.js';
import { dialErrorText } from './errors.js';
import type { TLSMaterial } from './tls.js';

/**
 * The original's connection check (spec §4.5): a TLS handshake with the client certificates,
 * where the server name is the URL's host, so the server certificate must name it.
 */
export async function validateCertificate(
  hostPort: string,
  tls: TLSMaterial,
  timeoutMs = 20_000,
): Promise<void> {
  const { connect } = await import('node:tls');
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(hostPort);
  const host = m ? m[1] : hostPort;
  const port = m ? Number(m[2]) : 2376;
  await new Promise<void>((resolve, reject) => {
    const sock = connect({
      host,
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: true,
      timeout: timeoutMs,
    });
    const done = (err?: unknown) => {
      sock.destroy();
      if (err) reject(new MachineError(dialErrorText(hostPort, err), { cause: err }));
      else resolve();
    };
    sock.once('secureConnect', () => done());
    sock.once('error', (err) => done(err));
    sock.once('timeout', () => done(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  });
}

/** The original's message, whose last lines name the command that fixes a bad certificate. */
export function connectionCheckMessage(hostPort: string, cause: string, machineName: string): string {
  return (
    `Error checking and/or regenerating the certs: There was an error validating certificates for host "${hostPort}": ${cause}\n` +
    `You can attempt to regenerate them using 'docker-machine regenerate-certs ${machineName}'.\n` +
    'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n'
  );
}
