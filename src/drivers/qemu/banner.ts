import { createConnection } from 'node:net';

/**
 * Resolves when an SSH server's banner arrives on host:port. QEMU's user-mode forward accepts a
 * connection before the guest listens, so a connect alone says nothing; the banner does.
 */
export function sshBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    let got = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(got.split('\r\n')[0]);
    };
    const timer = setTimeout(() => done(new Error(`no SSH banner within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
      if (got.includes('\n')) {
        if (got.startsWith('SSH-')) done();
        else done(new Error(`not an SSH server: ${JSON.stringify(got.slice(0, 40))}`));
      }
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () =>
      done(new Error(got ? 'connection closed mid-banner' : 'connection closed without a banner')),
    );
  });
}
