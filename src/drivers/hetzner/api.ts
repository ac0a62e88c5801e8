import type { CloudConnection } from '../cloud/connection.js';
import { listAll } from './connection.js';

/** The parts of Hetzner Cloud's objects this driver reads (hcloud.json's schemas). */
export interface Named {
  id: number;
  name: string;
}
export interface Location extends Named {
  network_zone: string;
}
export interface ServerType extends Named {
  architecture: 'x86' | 'arm';
  deprecated: boolean | null;
  deprecation?: { unavailable_after: string } | null;
  locations?: { id: number; name: string; deprecation?: { unavailable_after: string } | null }[];
}
export interface Image {
  id: number;
  name: string | null;
  architecture: 'x86' | 'arm';
  status: string;
  type: string;
}
export interface SSHKey extends Named {
  fingerprint: string;
  public_key: string;
  labels: Record<string, string>;
}
export interface Action {
  id: number;
  command: string;
  status: 'running' | 'success' | 'error';
  progress: number;
  error: { code: string; message: string } | null;
}
export interface Server extends Named {
  status: string;
  labels: Record<string, string>;
  public_net: {
    ipv4: { ip: string } | null;
    ipv6: { ip: string } | null;
  };
  private_net: { network?: number; ip?: string }[];
}
export interface PlacementGroup extends Named {
  servers: number[];
  labels: Record<string, string>;
}
export interface PrimaryIP extends Named {
  ip: string;
  type: 'ipv4' | 'ipv6';
  assignee_id: number | null;
  location: { name: string };
}

const q = encodeURIComponent;

export const locations = (c: CloudConnection, name: string) =>
  listAll<Location>(c, `/locations?name=${q(name)}`, 'locations');
export const allLocations = (c: CloudConnection) => listAll<Location>(c, '/locations', 'locations');
export const serverTypes = (c: CloudConnection, name: string) =>
  listAll<ServerType>(c, `/server_types?name=${q(name)}`, 'server_types');
export const imagesNamed = (c: CloudConnection, name: string, arch: string) =>
  listAll<Image>(c, `/images?name=${q(name)}&architecture=${q(arch)}`, 'images');
export async function image(c: CloudConnection, id: number): Promise<Image> {
  return (await c.get<{ image: Image }>(`/images/${id}`)).image;
}

/** A resource given by id or name, as the plugin takes them: an id is fetched, a name listed. */
export async function byIdOrName<T>(
  c: CloudConnection,
  collection: string,
  key: string,
  ref: string,
): Promise<T | undefined> {
  if (/^\d+$/.test(ref)) {
    const single = key.replace(/s$/, '');
    try {
      return (await c.get<Record<string, T>>(`/${collection}/${ref}`))[single];
    } catch (err) {
      const { isGone } = await import('../cloud/errors.js');
      if (isGone(err)) return undefined;
      throw err;
    }
  }
  return (await listAll<T>(c, `/${collection}?name=${q(ref)}`, key))[0];
}

export const serversNamed = (c: CloudConnection, name: string) =>
  listAll<Server>(c, `/servers?name=${q(name)}`, 'servers');
export const serversLabelled = (c: CloudConnection, selector: string) =>
  listAll<Server>(c, `/servers?label_selector=${q(selector)}`, 'servers');
export const keysLabelled = (c: CloudConnection, selector: string) =>
  listAll<SSHKey>(c, `/ssh_keys?label_selector=${q(selector)}`, 'ssh_keys');
export const keysWithFingerprint = (c: CloudConnection, fingerprint: string) =>
  listAll<SSHKey>(c, `/ssh_keys?fingerprint=${q(fingerprint)}`, 'ssh_keys');
export const groupsLabelled = (c: CloudConnection, selector: string) =>
  listAll<PlacementGroup>(c, `/placement_groups?label_selector=${q(selector)}`, 'placement_groups');
export const groupsNamed = (c: CloudConnection, name: string) =>
  listAll<PlacementGroup>(c, `/placement_groups?name=${q(name)}`, 'placement_groups');

export async function sshKey(c: CloudConnection, id: number): Promise<SSHKey> {
  return (await c.get<{ ssh_key: SSHKey }>(`/ssh_keys/${id}`)).ssh_key;
}
export async function createKey(
  c: CloudConnection,
  req: { name: string; public_key: string; labels: Record<string, string> },
): Promise<SSHKey> {
  return (await c.post<{ ssh_key: SSHKey }>('/ssh_keys', req)).ssh_key;
}
export async function deleteKey(c: CloudConnection, id: string): Promise<void> {
  await c.delete(`/ssh_keys/${q(id)}`);
}

export async function createGroup(
  c: CloudConnection,
  req: { name: string; type: 'spread'; labels: Record<string, string> },
): Promise<PlacementGroup> {
  return (await c.post<{ placement_group: PlacementGroup }>('/placement_groups', req)).placement_group;
}
export async function getGroup(c: CloudConnection, id: string): Promise<PlacementGroup> {
  return (await c.get<{ placement_group: PlacementGroup }>(`/placement_groups/${q(id)}`)).placement_group;
}
export async function deleteGroup(c: CloudConnection, id: string): Promise<void> {
  await c.delete(`/placement_groups/${q(id)}`);
}

export interface ServerRequest {
  name: string;
  server_type: string;
  image: string;
  location?: string;
  ssh_keys: string[];
  labels: Record<string, string>;
  user_data?: string;
  networks?: number[];
  firewalls?: { firewall: number }[];
  volumes?: number[];
  placement_group?: number;
  public_net?: { enable_ipv4: boolean; enable_ipv6: boolean; ipv4?: number; ipv6?: number };
}
export async function createServer(
  c: CloudConnection,
  req: ServerRequest,
): Promise<{ server: Server; action: Action; next_actions: Action[] }> {
  return c.post('/servers', req);
}
export async function getServer(c: CloudConnection, id: string): Promise<Server> {
  return (await c.get<{ server: Server }>(`/servers/${q(id)}`)).server;
}
export async function deleteServer(c: CloudConnection, id: string): Promise<Action | undefined> {
  return (await c.request<{ action?: Action }>('DELETE', `/servers/${q(id)}`)).body?.action;
}
export async function serverAction(c: CloudConnection, id: string, command: string): Promise<Action> {
  return (await c.request<{ action: Action }>('POST', `/servers/${q(id)}/actions/${command}`)).body.action;
}
export async function getAction(c: CloudConnection, id: number): Promise<Action> {
  return (await c.get<{ action: Action }>(`/actions/${id}`)).action;
}
