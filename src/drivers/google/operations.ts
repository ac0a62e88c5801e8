import { MachineError } from '../../errors.js';
import { CloudAPIError } from '../cloud/errors.js';
import { type ComputeAPI, lastSegment, type Operation } from './api.js';

/**
 * Compute Engine answers a change with an Operation and makes the change after: this polls it
 * (zone, region or global) until DONE, with a back-off from 1 s doubling to a cap, within a bound.
 * An error of a DONE operation becomes the one line a user sees, with the HTTP status Compute
 * Engine gives it (so that a refused create, QUOTA_EXCEEDED among them, is undone like a 4xx);
 * its warnings (DEPRECATED_RESOURCE_USED) are shown once each.
 */
export interface WaitOptions {
  /** "insert of instance gcp-host", for the lines a user reads. */
  what: string;
  log: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  /** First wait and cap of the back-off. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export const OPERATION_TIMEOUT_MS = 10 * 60_000;

export async function waitOperation(api: ComputeAPI, first: Operation, o: WaitOptions): Promise<Operation> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeout = o.timeoutMs ?? OPERATION_TIMEOUT_MS;
  const started = Date.now();
  let delay = o.firstDelayMs ?? 1000;
  const cap = o.maxDelayMs ?? 8000;
  const warned = new Set<string>();
  let op = first;
  for (;;) {
    for (const w of op.warnings ?? []) {
      const line = `Warning from Compute Engine (${o.what}): ${w.code ?? 'warning'}: ${oneLine(w.message ?? '')}`;
      if (!warned.has(line)) {
        warned.add(line);
        o.log(line);
      }
    }
    if (op.status === 'DONE') break;
    const waited = Date.now() - started;
    if (waited + delay > timeout)
      throw new MachineError(
        `Compute Engine's ${o.what} (operation ${op.name}) is still ${op.status} after ${Math.round(waited / 1000)} s; see gcloud compute operations describe ${op.name}`,
      );
    if (o.signal?.aborted) throw new MachineError('interrupted before it finished');
    await sleep(delay);
    delay = Math.min(cap, delay * 2);
    op = await api.get<Operation>(operationPath(api, op));
  }
  const errors = op.error?.errors ?? [];
  if (errors.length) {
    const [e, ...rest] = errors;
    const more = rest.length
      ? ` (and: ${rest.map((r) => `${r.code}: ${oneLine(r.message ?? '')}`).join('; ')})`
      : '';
    throw new CloudAPIError(
      'Google Compute Engine',
      op.httpErrorStatusCode ?? 400,
      e.code ?? 'OPERATION_FAILED',
      `${oneLine(e.message ?? `${o.what} failed`)}${more}`,
    );
  }
  return op;
}

/** The operation's own path under the API: zonal, regional or global, from where it lives. */
export function operationPath(api: ComputeAPI, op: Operation): string {
  const name = encodeURIComponent(op.name);
  if (op.zone) return api.p(`zones/${lastSegment(op.zone)}/operations/${name}`);
  if (op.region) return api.p(`regions/${lastSegment(op.region)}/operations/${name}`);
  return api.p(`global/operations/${name}`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
