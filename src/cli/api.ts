import { MachineAPI } from '../api/index.js';
import type { CommandContext } from './command.js';

/** The library API for this command line, printing progress events as the original's lines. */
export function apiFor(ctx: CommandContext): MachineAPI {
  const g = ctx.globals;
  return new MachineAPI({
    storePath: g.storagePath,
    certs: { caCert: g.tlsCaCert, caKey: g.tlsCaKey, clientCert: g.tlsClientCert, clientKey: g.tlsClientKey },
    env: ctx.env,
    events: (e) => {
      switch (e.kind) {
        case 'info':
          return ctx.out.info(e.message);
        case 'warn':
          return ctx.out.warn(e.message);
        case 'driver':
          return ctx.out.info(`(${e.machine}) ${e.message}`);
        case 'debug':
          return ctx.out.debug(e.message);
      }
    },
  });
}
