import { randomUUID } from 'node:crypto';
import { ApiError, cinderError, glanceError } from './errors.js';
import type { FakeOpenStack } from './fake.js';
import type { Interface, Obj, Token, VolumeState } from './types.js';

/** One request to a service endpoint, as the service modules see it. */
export interface Ctx {
  os: FakeOpenStack;
  method: string;
  /** The path below the endpoint (e.g. /servers/ID for compute, /v2.0/ports for network). */
  path: string;
  query: URLSearchParams;
  body: unknown;
  token: Token;
  region: string;
  iface: Interface;
  /** The endpoint's URL without the version (…/compute, …/network), for links. */
  base: string;
  /** The token's user has the admin role. */
  admin: boolean;
  microversion: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** The operation, when a sample documents this body (recorded in `sent`). */
  op?: string;
  admin?: boolean;
  /** The resource a mutation made or changed: passed to the hold hook and the 'mutation' event. */
  mutation?: { kind: string; id?: string };
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A page of `items` by `limit` and `marker` (the id of the last item of the previous page), as
 * Nova and Neutron page: the next link repeats the query with the new marker, and is absent on
 * the last page. An unknown marker is an error the caller shapes.
 */
export function page<T>(
  items: T[],
  idOf: (t: T) => string,
  query: URLSearchParams,
  maxLimit: number,
  selfUrl: string,
  badMarker: (marker: string) => ApiError,
  badLimit: (limit: string) => ApiError,
): { items: T[]; next?: string } {
  const limitText = query.get('limit');
  let limit = maxLimit;
  if (limitText !== null) {
    if (!/^\d+$/.test(limitText)) throw badLimit(limitText);
    limit = Math.min(Number(limitText), maxLimit);
    if (limit === 0) limit = maxLimit;
  }
  let start = 0;
  const marker = query.get('marker');
  if (marker !== null) {
    const at = items.findIndex((t) => idOf(t) === marker);
    if (at < 0) throw badMarker(marker);
    start = at + 1;
  }
  const slice = items.slice(start, start + limit);
  // Nova gives a next link whenever the page is full, even if nothing follows (clients then get an empty page).
  if (slice.length === limit && slice.length > 0) {
    const u = new URL(selfUrl);
    for (const [k, v] of query) if (k !== 'marker' && k !== 'limit') u.searchParams.append(k, v);
    u.searchParams.set('limit', String(limit));
    u.searchParams.set('marker', idOf(slice[slice.length - 1]));
    return { items: slice, next: u.href };
  }
  return { items: slice };
}

/**
 * Glance v2, the little of it a driver needs to find an image by name or id
 * (https://docs.openstack.org/api-ref/image/v2/: GET /v2/images?name=, GET /v2/images/{id}).
 */
export function glance(ctx: Ctx): Reply {
  const { os, method, path } = ctx;
  if (method === 'GET' && path === '/') {
    return {
      status: 300,
      body: {
        versions: [{ id: 'v2.16', status: 'CURRENT', links: [{ rel: 'self', href: `${ctx.base}/v2/` }] }],
      },
    };
  }
  const image = (i: (typeof os.opts.images)[number]) => ({
    id: i.id,
    name: i.name,
    status: i.status ?? 'active',
    visibility: i.visibility ?? 'public',
    protected: false,
    os_hidden: false,
    owner: os.opts.projects[1]?.id ?? os.opts.projects[0].id,
    container_format: 'bare',
    disk_format: 'qcow2',
    min_disk: i.minDisk ?? 0,
    min_ram: i.minRam ?? 0,
    size: i.sizeBytes ?? null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    tags: [],
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
  });
  if (method === 'GET' && path === '/v2/images') {
    let items = os.opts.images;
    const name = ctx.query.get('name');
    if (name !== null) items = items.filter((i) => i.name === name);
    const status = ctx.query.get('status');
    if (status !== null) items = items.filter((i) => (i.status ?? 'active') === status);
    const p = page(
      items,
      (i) => i.id,
      ctx.query,
      Math.min(os.opts.maxLimit, 25),
      `${ctx.base}/v2/images`,
      (m) => glanceError(400, `marker not found: ${m}`),
      () => glanceError(400, 'limit param must be an integer'),
    );
    const b: Obj = { images: p.items.map(image), first: '/v2/images', schema: '/v2/schemas/images' };
    if (p.next) b.next = p.next.slice(ctx.base.length);
    return { status: 200, body: b };
  }
  const m = /^\/v2\/images\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) {
    const i = os.opts.images.find((x) => x.id === m[1]);
    if (!i) throw glanceError(404, `No image found with ID ${m[1]}`);
    return { status: 200, body: image(i) };
  }
  throw glanceError(404, 'The resource could not be found.');
}

export function volumeBody(v: VolumeState, base: string): Obj {
  return {
    id: v.id,
    name: v.name || null,
    size: v.size,
    status: v.status,
    volume_type: v.volumeType,
    bootable: String(v.bootable),
    availability_zone: 'nova',
    attachments: v.attachedTo
      ? [
          {
            id: v.id,
            attachment_id: randomUUID(),
            volume_id: v.id,
            server_id: v.attachedTo,
            host_name: null,
            device: v.device,
            attached_at: v.created,
          },
        ]
      : [],
    created_at: v.created,
    updated_at: v.created,
    description: null,
    encrypted: false,
    multiattach: false,
    metadata: {},
    snapshot_id: null,
    source_volid: null,
    replication_status: null,
    consistencygroup_id: null,
    user_id: null,
    'os-vol-tenant-attr:tenant_id': v.projectId,
    ...(v.imageId ? { volume_image_metadata: { image_id: v.imageId } } : {}),
    links: [{ href: `${base}/volumes/${v.id}`, rel: 'self' }],
  };
}

/**
 * Cinder v3's volumes, enough to find and delete the volume a boot-from-volume server leaves
 * (https://docs.openstack.org/api-ref/block-storage/v3/): list (with ?name=), show, create, delete.
 */
export function cinder(ctx: Ctx): Reply {
  const { os, method, path, token } = ctx;
  const m = /^\/v3\/([0-9a-f]+)(\/.*)?$/.exec(path);
  if (!m) throw cinderError(404, 'The resource could not be found.');
  if (m[1] !== token.projectId) {
    throw cinderError(403, "Policy does not allow the request: the project in the URL is not the token's.");
  }
  const rest = m[2] ?? '/';
  const base = `${ctx.base}/v3/${m[1]}`;
  const mine = [...os.volumes.values()].filter(
    (v) => v.region === ctx.region && v.projectId === token.projectId,
  );
  if (method === 'GET' && (rest === '/volumes' || rest === '/volumes/detail')) {
    let items = mine;
    const name = ctx.query.get('name');
    if (name !== null) items = items.filter((v) => v.name === name);
    const status = ctx.query.get('status');
    if (status !== null) items = items.filter((v) => v.status === status);
    const detail = rest === '/volumes/detail';
    return {
      status: 200,
      body: {
        volumes: items.map((v) =>
          detail ? volumeBody(v, base) : { id: v.id, name: v.name || null, links: volumeBody(v, base).links },
        ),
      },
    };
  }
  if (method === 'POST' && rest === '/volumes') {
    const b = ctx.body;
    if (!isObj(b) || !isObj(b.volume))
      throw cinderError(400, "Invalid input for field/attribute volume. 'volume' is a required property");
    const size = b.volume.size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw cinderError(
        400,
        `Invalid input for field/attribute size. Value: ${JSON.stringify(size)}. must be an integer >= 1`,
      );
    }
    const used = mine.reduce((n, v) => n + v.size, 0);
    if (mine.length + 1 > os.opts.quotas.volumes || used + size > os.opts.quotas.gigabytes) {
      throw cinderError(
        413,
        `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${size}G, quota is ${os.opts.quotas.gigabytes}G and ${used}G has been consumed.`,
      );
    }
    const v = os.addVolume({
      name: typeof b.volume.name === 'string' ? b.volume.name : '',
      size,
      region: ctx.region,
      projectId: token.projectId!,
      imageId: typeof b.volume.imageRef === 'string' ? b.volume.imageRef : undefined,
    });
    os.emitCreated('volume', v.id, v.name);
    return { status: 202, body: { volume: volumeBody(v, base) }, mutation: { kind: 'volume', id: v.id } };
  }
  const vm = /^\/volumes\/([^/]+)$/.exec(rest);
  if (vm) {
    const v = mine.find((x) => x.id === vm[1]);
    if (!v) throw cinderError(404, `Volume ${vm[1]} could not be found.`);
    if (method === 'GET') return { status: 200, body: { volume: volumeBody(v, base) } };
    if (method === 'DELETE') {
      if (v.status === 'in-use' || v.attachedTo) {
        throw cinderError(
          400,
          'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.',
        );
      }
      os.volumes.delete(v.id);
      return { status: 202, mutation: { kind: 'volume', id: v.id } };
    }
  }
  throw new ApiError(404, { itemNotFound: { code: 404, message: 'The resource could not be found.' } });
}
