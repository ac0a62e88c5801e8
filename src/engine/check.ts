import { MachineError } from '../errors.js';
import { dialErrorText } from './errors.js';
import { nativeHandshake } from './native-check.js';
import type { TLSMaterial } from './tls.js';

/**
 * The original's connection check (spec §4.5): a TLS handshake with the client certificates,
 * where the server name is the URL's host, so the server certificate must name it. With a cache
 * folder, the session is kept there and the next check resumes it (see verified-tls.ts for why
 * that proves as much). `sent`, when the executable's own TLS makes the check, is called once the
 * first handshake message has left.
 */
export async function validateCertificate(
  hostPort: string,
  tls: TLSMaterial,
  timeoutMs = 20_000,
  cacheDir?: string,
  sent?: () => void,
): Promise<void> {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(hostPort);
  const host = m ? m[1] : hostPort;
  const port = m ? Number(m[2]) : 2376;
  try {
    if ((await nativeHandshake(host, port, tls, timeoutMs, cacheDir, sent)) === 'passed') return;
    // node:tls's path: under Node, or when the executable's own check did not pass.
    const [{ sessionFile }, { connectVerified }] = await Promise.all([
      import('./session-file.js'),
      import('./verified-tls.js'),
    ]);
    const sessions = cacheDir === undefined ? undefined : await sessionFile(cacheDir, host, port, tls);
    const sock = await connectVerified({ host, port, tls, timeoutMs, sessions });
    // Closed after our last handshake message has left, as Go's Close does: a socket destroyed
    // at once can drop it, and the engine logs a handshake error (EOF) for every check.
    sock.end(() => sock.destroy());
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
