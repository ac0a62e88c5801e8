import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Checks the fake's bodies against OpenStack's published samples (OpenStack publishes no
 * OpenAPI description): every key a sample has must be in the fake's body with the same JSON
 * type, recursively. The exceptions are named, each with its reason, below; nothing else is
 * loosened. Where several samples document one answer (Keystone's scoped tokens), a key must be
 * in all of them to be required, and a type seen in any of them is accepted.
 */
export const SAMPLES_DIR = '/work/shared/reference/api-specs/openstack';
const KS = 'keystone/api-ref/source/v3/samples/admin';
const NOVA = 'nova/doc/api_samples/servers';

export function sample(rel: string): unknown {
  return JSON.parse(readFileSync(join(SAMPLES_DIR, rel), 'utf8'));
}

export const KEYSTONE_SAMPLES = {
  requests: {
    passwordById: `${KS}/auth-password-unscoped-request.json`,
    passwordByNameAndDomain: `${KS}/auth-password-unscoped-request-with-domain.json`,
    passwordExplicitUnscoped: `${KS}/auth-password-explicit-unscoped-request.json`,
    passwordSystemScoped: `${KS}/auth-password-system-scoped-request-with-domain.json`,
    appCredentialById: `${KS}/auth-application-credential-id-request.json`,
    appCredentialByName: `${KS}/auth-application-credential-name-request.json`,
    tokenUnscoped: `${KS}/auth-token-unscoped-request.json`,
    tokenExplicitUnscoped: `${KS}/auth-token-explicit-unscoped-request.json`,
    tokenScoped: `${KS}/auth-token-scoped-request.json`,
  },
  projectScoped: [
    `${KS}/auth-password-project-scoped-response.json`,
    `${KS}/auth-token-scoped-response.json`,
  ],
  applicationCredential: [`${KS}/auth-application-credential-response.json`],
  unscoped: [
    `${KS}/auth-password-unscoped-response.json`,
    `${KS}/auth-password-explicit-unscoped-response.json`,
    `${KS}/auth-token-unscoped-response.json`,
  ],
};

export const NOVA_SAMPLES = {
  createRequest: `${NOVA}/server-create-req.json`,
  /** Create requests for microversions 2.37 and 2.57 (networks "auto"): invalid at 2.1. */
  createRequestV237: `${NOVA}/server-create-req-v237.json`,
  createRequestV257: `${NOVA}/server-create-req-v257.json`,
  start: `${NOVA}/server-action-start.json`,
  stop: `${NOVA}/server-action-stop.json`,
  reboot: `${NOVA}/server-action-reboot.json`,
  addFloatingIp: `${NOVA}/server-action-addfloatingip-req.json`,
  removeFloatingIp: `${NOVA}/server-action-removefloatingip-req.json`,
  createResponse: `${NOVA}/server-create-resp.json`,
  getResponse: `${NOVA}/server-get-resp.json`,
  detailResponse: `${NOVA}/servers-details-resp.json`,
  listResponse: `${NOVA}/servers-list-resp.json`,
};

/** Objects whose keys are data (network names, metadata keys): their values are checked, not their keys. */
const MAPS = new Set(['addresses', 'metadata']);
/** Keys a sample has that a body may lack, and why. */
const OPTIONAL: Record<string, string> = {
  // Admin-only (policy os_compute_api:os-extended-server-attributes); the samples were made as admin.
  'OS-EXT-SRV-ATTR:host': 'admin only',
  'OS-EXT-SRV-ATTR:hypervisor_hostname': 'admin only',
  'OS-EXT-SRV-ATTR:instance_name': 'admin only',
  // A page that is the last one has no next link.
  servers_links: 'only when a next page exists',
};
/** Keys a sample shows with a value that real answers also give as null, and when. */
const NULLABLE: Record<string, string> = {
  'OS-SRV-USG:launched_at': 'null until the server first boots',
  'OS-EXT-SRV-ATTR:host': 'null until the server is scheduled',
  'OS-EXT-SRV-ATTR:hypervisor_hostname': 'null until the server is scheduled',
  // The scoped-token samples show a date, the unscoped ones null: it is null when the password never expires.
  password_expires_at: 'null when the password never expires',
};
/** Keys whose value a sample shows in one type that real answers also give in another. */
const ALSO: Record<string, string[]> = {
  // A server booted from a volume has image "" instead of an object.
  image: ['string'],
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Problems of `actual` against the samples: "path: what is wrong". Samples' null values say
 * nothing about the type (the field is nullable), so any value is accepted there.
 */
export function shapeProblems(samples: unknown[], actual: unknown, path = '', key = ''): string[] {
  const here = path || '(body)';
  const types = new Set(samples.map(typeOf));
  if (types.has('null')) return [];
  const t = typeOf(actual);
  if (!types.has(t)) {
    if (t === 'null' && key in NULLABLE) return [];
    if (ALSO[key]?.includes(t)) return [];
    return [`${here}: expected ${[...types].join(' or ')}, got ${t}`];
  }
  if (t === 'array') {
    const items = samples.filter((s) => Array.isArray(s)).flatMap((s) => s as unknown[]);
    if (!items.length) return [];
    return (actual as unknown[]).flatMap((a, i) => shapeProblems(items, a, `${path}[${i}]`, key));
  }
  if (t !== 'object') return [];
  const objs = samples.filter((s) => typeOf(s) === 'object') as Record<string, unknown>[];
  const a = actual as Record<string, unknown>;
  if (MAPS.has(key)) {
    const values = objs.flatMap((o) => Object.values(o));
    if (!values.length) return [];
    return Object.entries(a).flatMap(([k, v]) => shapeProblems(values, v, `${path}.${k}`, key));
  }
  const problems: string[] = [];
  const keys = new Set(objs.flatMap((o) => Object.keys(o)));
  for (const k of keys) {
    const inAll = objs.every((o) => k in o);
    const p = path ? `${path}.${k}` : k;
    if (!(k in a)) {
      if (inAll && !(k in OPTIONAL)) problems.push(`${p}: missing`);
      continue;
    }
    const values = objs.filter((o) => k in o).map((o) => o[k]);
    problems.push(...shapeProblems(values, a[k], p, k));
  }
  return problems;
}

/** The samples a recorded answer is compared with, by the fake's operation name and the body. */
export function samplesFor(op: string, body: unknown): string[] | undefined {
  if (op === 'keystone:token') {
    const token = (body as { token?: Record<string, unknown> }).token ?? {};
    if ('application_credential' in token) return KEYSTONE_SAMPLES.applicationCredential;
    if ('project' in token) return KEYSTONE_SAMPLES.projectScoped;
    return KEYSTONE_SAMPLES.unscoped;
  }
  if (op === 'nova:server-create') return [NOVA_SAMPLES.createResponse];
  if (op === 'nova:server-get') return [NOVA_SAMPLES.getResponse];
  if (op === 'nova:servers-detail') return [NOVA_SAMPLES.detailResponse];
  if (op === 'nova:servers-list') return [NOVA_SAMPLES.listResponse];
  return undefined;
}

/** Problems of every recorded answer that a sample documents. */
export function checkSent(sent: { op: string; status: number; body: unknown }[]): string[] {
  const cache = new Map<string, unknown>();
  const load = (rel: string) => {
    if (!cache.has(rel)) cache.set(rel, sample(rel));
    return cache.get(rel);
  };
  return sent.flatMap((s) => {
    if (s.status >= 400) return [];
    const rels = samplesFor(s.op, s.body);
    if (!rels) return [];
    return shapeProblems(rels.map(load), s.body).map((p) => `${s.op}: ${p}`);
  });
}
