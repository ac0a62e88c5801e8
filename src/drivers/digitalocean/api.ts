import type { CloudConnection } from '../cloud/connection.js';
import { listAll } from './connection.js';

/** The parts of DigitalOcean's objects this driver reads (the models under resources/ in its OpenAPI). */
export interface Region {
  slug: string;
  available: boolean;
  sizes: string[];
}
export interface Size {
  slug: string;
  available: boolean;
  regions: string[];
}
export interface Image {
  id: number;
  slug: string | null;
  regions: string[];
  status?: string;
}
export interface SSHKey {
  id: number;
  fingerprint: string;
  name: string;
}
export interface Droplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive';
  networks: {
    v4: { ip_address: string; type: 'public' | 'private' }[];
    v6: { ip_address: string; type: string }[];
  };
  tags: string[];
}
export interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
}

export const regions = (c: CloudConnection) => listAll<Region>(c, '/v2/regions', 'regions');
export const sizes = (c: CloudConnection) => listAll<Size>(c, '/v2/sizes', 'sizes');

export async function image(c: CloudConnection, slugOrId: string): Promise<Image> {
  return (await c.get<{ image: Image }>(`/v2/images/${encodeURIComponent(slugOrId)}`)).image;
}

export async function account(c: CloudConnection): Promise<{ droplet_limit: number; status: string }> {
  return (await c.get<{ account: { droplet_limit: number; status: string } }>('/v2/account')).account;
}

/** How many droplets the account has (the list's meta.total: one small page is enough). */
export async function dropletCount(c: CloudConnection): Promise<number> {
  return (await c.get<{ meta?: { total?: number } }>('/v2/droplets?per_page=1')).meta?.total ?? 0;
}

export async function keyByFingerprint(c: CloudConnection, fingerprint: string): Promise<SSHKey> {
  return (await c.get<{ ssh_key: SSHKey }>(`/v2/account/keys/${encodeURIComponent(fingerprint)}`)).ssh_key;
}

export async function createKey(c: CloudConnection, name: string, publicKey: string): Promise<SSHKey> {
  return (await c.post<{ ssh_key: SSHKey }>('/v2/account/keys', { name, public_key: publicKey })).ssh_key;
}

export async function deleteKey(c: CloudConnection, id: string): Promise<void> {
  await c.delete(`/v2/account/keys/${encodeURIComponent(id)}`);
}

export interface DropletRequest {
  name: string;
  region: string;
  size: string;
  image: string | number;
  ssh_keys: number[];
  backups: boolean;
  ipv6: boolean;
  monitoring: boolean;
  tags: string[];
  user_data?: string;
  vpc_uuid?: string;
  private_networking?: boolean;
}

export async function createDroplet(c: CloudConnection, req: DropletRequest): Promise<Droplet> {
  return (await c.post<{ droplet: Droplet }>('/v2/droplets', req)).droplet;
}

export async function getDroplet(c: CloudConnection, id: string): Promise<Droplet> {
  return (await c.get<{ droplet: Droplet }>(`/v2/droplets/${encodeURIComponent(id)}`)).droplet;
}

export const dropletsTagged = (c: CloudConnection, tag: string) =>
  listAll<Droplet>(c, `/v2/droplets?tag_name=${encodeURIComponent(tag)}`, 'droplets');

export async function deleteDroplet(c: CloudConnection, id: string): Promise<void> {
  await c.delete(`/v2/droplets/${encodeURIComponent(id)}`);
}

export async function deleteTag(c: CloudConnection, tag: string): Promise<void> {
  await c.delete(`/v2/tags/${encodeURIComponent(tag)}`);
}

export async function dropletAction(c: CloudConnection, id: string, type: string): Promise<Action> {
  return (await c.post<{ action: Action }>(`/v2/droplets/${encodeURIComponent(id)}/actions`, { type }))
    .action;
}

export async function getAction(c: CloudConnection, id: number): Promise<Action> {
  return (await c.get<{ action: Action }>(`/v2/actions/${id}`)).action;
}
