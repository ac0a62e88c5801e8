import { MachineError } from '../errors.js';
import { dialErrorText } from './errors.js';
import type { TLSMaterial } from './tls.js';
import { connectVerified } from './verified-tls.js';

/**
 * The original's connection check (spec §4.5): a TLS handshake with the client certificates,
 * where the server name is the URL's host, so the server certificate must name it.
 */
export async function validateCertificate(
  hostPort: string,
  tls: TLSMaterial,
  timeoutMs = 20_000,
): Promise<void> {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(hostPort);
  const host = m ? m[1] : hostPort;
  const port = m ? Number(m[2]) : 2376;
  try {
    (await connectVerified({ host, port, tls, timeoutMs })).destroy();
  } catch (err) {
    throw new MachineError(dialErrorText(hostPort, err), { cause: err });
  }
}

/** The original's message, whose last lines name the command that fixes a bad certificate. */
export function connectionCheckMessage(hostPort: string, cause: string, machineName: string): string {
  return (
    `Error checking and/or regenerating the certs: There was an error validating certificates for host "${hostPort}": ${cause}\n` +
    `You can attempt to regenerate them using 'docker-machine regenerate-certs ${machineName}'.\n` +
    'Be advised that this will trigger a Docker daemon restart which might stop running containers.\n'
  );
}
