import type { ApiOptions } from '../api/context.js';
import type { ProgressEvent } from '../api/events.js';
import type { CommandContext } from './command.js';

/**
 * The API's options for this command line, printing progress events as the original's lines; with
 * `machineColumn` (a fleet's create), each machine's lines start with its name in a column of
 * that width, `NAME | line`.
 */
export function apiOptionsFor(ctx: CommandContext, opts: { machineColumn?: number } = {}): ApiOptions {
  const g = ctx.globals;
  const column = opts.machineColumn;
  const line = (e: ProgressEvent) => {
    if (column === undefined || e.machine === undefined) {
      return e.kind === 'driver' ? `(${e.machine}) ${e.message}` : e.message;
    }
    // The column names the machine already: the driver's own `(NAME) ` marker would repeat it.
    const own = `(${e.machine}) `;
    const message = e.message.startsWith(own) ? e.message.slice(own.length) : e.message;
    return `${e.machine.padEnd(column)} | ${message}`;
  };
  return {
    storePath: g.storagePath,
    certs: { caCert: g.tlsCaCert, caKey: g.tlsCaKey, clientCert: g.tlsClientCert, clientKey: g.tlsClientKey },
    env: ctx.env,
    events: (e) => {
      switch (e.kind) {
        case 'info':
        case 'driver':
          return ctx.out.info(line(e));
        case 'warn':
          return ctx.out.warn(line(e));
        case 'debug':
          return ctx.out.debug(line(e));
      }
    },
  };
}
