import type { ApiOptions } from '../api/context.js';
import { type ProgressEvent, toJsonEvent } from '../api/events.js';
import { flagBool } from '../flags/def.js';
import type { CommandContext } from './command.js';
import type { LiveView } from './live-view.js';

/**
 * The API's options for this command line, printing progress events as the original's lines; with
 * `machineColumn` (a fleet's create), each machine's lines start with its name in a column of
 * that width, `NAME | line`. With --json every event is a JSON line on stdout (docs/events.md);
 * with `live` (a fleet on a terminal) the live view draws them.
 */
export function apiOptionsFor(
  ctx: CommandContext,
  opts: { machineColumn?: number; live?: LiveView } = {},
): ApiOptions {
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
  const json = jsonEvents(ctx);
  const live = opts.live;
  return {
    storePath: g.storagePath,
    certs: { caCert: g.tlsCaCert, caKey: g.tlsCaKey, clientCert: g.tlsClientCert, clientKey: g.tlsClientKey },
    env: ctx.env,
    events: (e) => {
      if (e.kind === 'debug') return ctx.out.debug(line(e));
      if (json) {
        const j = toJsonEvent(e);
        if (j) ctx.out.write(`${JSON.stringify(j)}\n`);
        return;
      }
      if (live) return live.event(e);
      switch (e.kind) {
        case 'info':
        case 'driver':
          return ctx.out.info(line(e));
        case 'warn':
          return ctx.out.warn(line(e));
      }
    },
  };
}

/** The command was given --json: its stdout holds only event lines. */
export function jsonEvents(ctx: CommandContext): boolean {
  return flagBool(ctx.flags, 'json');
}
