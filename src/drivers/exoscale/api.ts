import { MachineError } from '../../errors.js';
import { CloudConnection } from '../cloud/connection.js';
import type { DriverContext } from '../driver.js';
import { exoscaleAuthorization } from './sign.js';

/**
 * Exoscale's v2 API (JSON; every request signed, see sign.ts): the operations the driver uses,
 * named as in the API reference. Every mutation answers with an operation that is polled.
 */

export interface Zone {
  name: string;
  'api-endpoint'?: string;
}
export interface Template {
  id: string;
  name: string;
  'default-user'?: string;
  family?: string;
  zones?: string[];
  'created-at'?: string;
  size?: number;
}
export interface InstanceType {
  id: string;
  family: string;
  size: string;
  authorized?: boolean;
  zones?: string[];
}
export interface SecurityGroupRule {
  'flow-direction'?: string;
  protocol?: string;
  network?: string;
  'start-port'?: number;
  'end-port'?: number;
}
export interface SecurityGroup {
  id: string;
  name: string;
  description?: string;
  rules?: SecurityGroupRule[];
}
export interface AntiAffinityGroup {
  id: string;
  name: string;
  instances?: { id: string }[];
}
export interface SSHKey {
  name: string;
  fingerprint?: string;
}
export interface Instance {
  id: string;
  name: string;
  state: string;
  'public-ip'?: string;
  labels?: Record<string, string>;
  'security-groups'?: { id: string }[];
}
export interface Operation {
  id: string;
  state: 'pending' | 'success' | 'failure' | 'timeout';
  reason?: string;
  message?: string;
  reference?: { id?: string };
}

export function exoscaleConnection(o: {
  endpoint: string;
  key: string;
  secret: string;
  ctx?: Pick<DriverContext, 'debug' | 'signal'>;
}): CloudConnection {
  return new CloudConnection({
    provider: 'Exoscale',
    endpoint: o.endpoint.replace(/\/+$/, ''),
    auth: (req) => ({
      authorization: exoscaleAuthorization({
        key: o.key,
        secret: o.secret,
        method: req.method,
        url: req.url,
        body: req.payload,
      }),
    }),
    parseError(status, body) {
      // Exoscale answers {"message": "..."}; the description documents no error bodies.
      const m = body && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
      const message =
        typeof m === 'string' ? m : typeof body === 'string' && body ? body.slice(0, 200) : 'no message';
      return { code: codeFor(status), message };
    },
    debug: o.ctx?.debug,
    signal: o.ctx?.signal,
  });
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'bad request';
    case 403:
      return 'forbidden';
    case 404:
      return 'not found';
    case 409:
      return 'conflict';
    default:
      return `HTTP ${status}`;
  }
}

export const zones = async (c: CloudConnection) => (await c.get<{ zones?: Zone[] }>('/zone')).zones ?? [];
export const templates = async (c: CloudConnection, visibility: 'public' | 'private') =>
  (await c.get<{ templates?: Template[] }>(`/template?visibility=${visibility}`)).templates ?? [];
export const template = (c: CloudConnection, id: string) =>
  c.get<Template>(`/template/${encodeURIComponent(id)}`);
export const instanceTypes = async (c: CloudConnection) =>
  (await c.get<{ 'instance-types'?: InstanceType[] }>('/instance-type'))['instance-types'] ?? [];
export const securityGroups = async (c: CloudConnection) =>
  (await c.get<{ 'security-groups'?: SecurityGroup[] }>('/security-group?visibility=private'))[
    'security-groups'
  ] ?? [];
export const securityGroup = (c: CloudConnection, id: string) =>
  c.get<SecurityGroup>(`/security-group/${encodeURIComponent(id)}`);
export const antiAffinityGroups = async (c: CloudConnection) =>
  (await c.get<{ 'anti-affinity-groups'?: AntiAffinityGroup[] }>('/anti-affinity-group'))[
    'anti-affinity-groups'
  ] ?? [];
export const antiAffinityGroup = (c: CloudConnection, id: string) =>
  c.get<AntiAffinityGroup>(`/anti-affinity-group/${encodeURIComponent(id)}`);
export const sshKeys = async (c: CloudConnection) =>
  (await c.get<{ 'ssh-keys'?: SSHKey[] }>('/ssh-key'))['ssh-keys'] ?? [];
export const instances = async (c: CloudConnection) =>
  (await c.get<{ instances?: Instance[] }>('/instance')).instances ?? [];
export const instance = (c: CloudConnection, id: string) =>
  c.get<Instance>(`/instance/${encodeURIComponent(id)}`);
export const operation = (c: CloudConnection, id: string) =>
  c.get<Operation>(`/operation/${encodeURIComponent(id)}`);

/** A mutation: its operation as first answered. */
export const mutate = async (c: CloudConnection, method: string, path: string, body?: unknown) =>
  (await c.request<Operation>(method, path, body)).body;

/** Polls an operation until Exoscale says it is done; its failure in one line. */
export async function waitOperation(
  c: CloudConnection,
  first: Operation,
  what: string,
  o: { intervalMs: number; timeoutMs: number; signal?: AbortSignal },
): Promise<Operation> {
  let op = first;
  const started = Date.now();
  // Most operations (a key, a group, a rule) are done within a second: the first polls come
  // sooner, doubling up to the driver's interval, so that a create's ten operations do not each
  // wait a full interval.
  let wait = Math.min(200, o.intervalMs);
  while (op.state === 'pending') {
    if (Date.now() - started > o.timeoutMs)
      throw new MachineError(
        `${what}: still pending after ${Math.round(o.timeoutMs / 1000)} s (operation ${op.id})`,
      );
    if (o.signal?.aborted) throw new MachineError('interrupted before it finished');
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, o.intervalMs);
    op = await operation(c, op.id);
  }
  if (op.state !== 'success')
    throw new MachineError(
      `${what} failed: ${op.state}${op.reason ? ` (${op.reason})` : ''}${op.message ? `: ${op.message}` : ''} (operation ${op.id})`,
    );
  return op;
}
