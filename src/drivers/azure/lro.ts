import type { IncomingHttpHeaders } from 'node:http';
import { MachineError } from '../../errors.js';
import type { APIResponse } from '../cloud/connection.js';
import { retryHintMs } from '../cloud/retry.js';
import type { ARM } from './api.js';

/**
 * Resource Manager's long-running operations: an answer with an Azure-AsyncOperation header is
 * followed by polling that URL until its status is Succeeded, Failed or Canceled; one with only a
 * Location header by polling it until it stops answering 202; a PUT answered with neither but a
 * provisioningState still in progress, by reading the resource again. Each wait is the
 * answer's Retry-After (bounded), else the default interval; the whole is bounded too.
 */
export interface LROOptions {
  defaultIntervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  sleep?(ms: number): Promise<void>;
}

/** No single wait longer than a minute, whatever Retry-After says; none shorter than this. */
const MAX_WAIT_MS = 60_000;
const MIN_WAIT_MS = 100;

/** ARM said the operation ended Failed or Canceled: nothing more will come of it. */
export class OperationFailedError extends MachineError {
  readonly code: string;
  constructor(what: string, status: string, code: string, message: string) {
    super(`Azure API: ${code}: ${message} (${what}: operation ${status})`);
    this.code = code;
  }
}

interface OperationStatus {
  status?: string;
  error?: { code?: string; message?: string; details?: { code?: string; message?: string }[] };
  properties?: { provisioningState?: string };
}

const DONE = /^(succeeded)$/i;
const ENDED_BADLY = /^(failed|canceled|cancelled)$/i;

function header(h: IncomingHttpHeaders, name: string): string {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export async function waitForOperation(
  arm: ARM,
  first: APIResponse<unknown>,
  what: string,
  resourcePath?: string,
): Promise<void> {
  const o = arm.lro;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  const asyncOp = header(first.headers, 'azure-asyncoperation');
  const location = header(first.headers, 'location');
  const state = (first.body as OperationStatus | undefined)?.properties?.provisioningState ?? '';
  let poll: string;
  let kind: 'async' | 'location' | 'resource';
  if (asyncOp) {
    poll = arm.sameOrigin(asyncOp);
    kind = 'async';
  } else if (location && first.status === 202) {
    poll = arm.sameOrigin(location);
    kind = 'location';
  } else if (resourcePath && state && !DONE.test(state)) {
    if (ENDED_BADLY.test(state)) throw new OperationFailedError(what, state, state, `${what} ended ${state}`);
    poll = resourcePath;
    kind = 'resource';
  } else {
    return;
  }
  let last: APIResponse<unknown> = first;
  for (;;) {
    const waited = Date.now() - started;
    const hint = retryHintMs(last.headers, Date.now(), false);
    const wait = Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, hint ?? o.defaultIntervalMs));
    if (waited + wait > o.timeoutMs)
      throw new MachineError(
        `${what} had not finished after ${Math.round(waited / 1000)} s; Azure may still finish it: rm removes what it made`,
      );
    await sleep(wait);
    if (o.signal?.aborted) throw new MachineError('interrupted before it finished');
    last = await arm.send<OperationStatus>('GET', poll);
    const body = last.body as OperationStatus | undefined;
    if (kind === 'location') {
      if (last.status !== 202) return;
      continue;
    }
    const status = kind === 'async' ? (body?.status ?? '') : (body?.properties?.provisioningState ?? '');
    if (DONE.test(status)) return;
    if (ENDED_BADLY.test(status)) {
      const e = body?.error;
      const detail = e?.details?.find((d) => d.message);
      const msg = [
        e?.message,
        detail && detail.message !== e?.message ? `(${detail.code}: ${detail.message})` : '',
      ]
        .filter(Boolean)
        .join(' ')
        .replace(/\s+/g, ' ');
      throw new OperationFailedError(what, status, e?.code || status, msg || `${what} ended ${status}`);
    }
  }
}
