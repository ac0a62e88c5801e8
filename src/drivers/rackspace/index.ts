import { randomBytes } from 'node:crypto';
import { MachineError } from '../../errors.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagInt, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, str } from '../base.js';
import { CloudConnection } from '../cloud/connection.js';
import { CloudAPIError } from '../cloud/errors.js';
import type { Driver, DriverContext, DriverModule } from '../driver.js';
import type { Server } from '../openstack/api.js';
import type { Session } from '../openstack/auth/keystone.js';
import { parseOpenStackError } from '../openstack/errors.js';
import { OpenStackDriver } from '../openstack/index.js';
import { pickAddress } from '../openstack/state.js';

/**
 * `rackspace`: an OpenStack server at Rackspace, whose identity is its own: v2.0 tokens for a
 * user name and API key (RAX-KSKEY:apiKeyCredentials). The original's flags, mapped onto the
 * openstack driver; Rackspace's public cloud has neither floating IPs nor security groups here,
 * so the server keeps its public address and nothing but the key pair and server is made.
 */

export const RACKSPACE_IDENTITY = 'https://identity.api.rackspacecloud.com/v2.0';
/** The original's Ubuntu 16.04 image id; Rackspace retired it, so a current one must be given. */
const ORIGINAL_IMAGE = '821ba5f4-712d-4ec8-9c65-a3fa4bc500f9';

export const flags: FlagDef[] = [
  { name: 'rackspace-username', kind: 'string', envVar: 'OS_USERNAME', usage: 'Rackspace account username' },
  { name: 'rackspace-api-key', kind: 'string', envVar: 'OS_API_KEY', usage: 'Rackspace API key' },
  {
    name: 'rackspace-region',
    kind: 'string',
    envVar: 'OS_REGION_NAME',
    default: 'IAD',
    usage: 'Rackspace region name',
  },
  {
    name: 'rackspace-endpoint-type',
    kind: 'string',
    envVar: 'OS_ENDPOINT_TYPE',
    default: 'publicURL',
    usage: 'Rackspace endpoint type (adminURL, internalURL or the default publicURL)',
  },
  { name: 'rackspace-image-id', kind: 'string', envVar: 'OS_IMAGE_ID', usage: 'Rackspace image ID' },
  {
    name: 'rackspace-flavor-id',
    kind: 'string',
    envVar: 'OS_FLAVOR_ID',
    default: 'general1-1',
    usage: 'Rackspace flavor ID. Default: General Purpose 1GB',
  },
  {
    name: 'rackspace-ssh-user',
    kind: 'string',
    envVar: 'OS_SSH_USER',
    default: 'root',
    usage: 'SSH user for the newly booted machine. Set to root by default',
  },
  {
    name: 'rackspace-ssh-port',
    kind: 'int',
    envVar: 'OS_SSH_PORT',
    default: 22,
    usage: 'SSH port for the newly booted machine. Set to 22 by default',
  },
  {
    name: 'rackspace-docker-install',
    kind: 'string',
    default: 'true',
    usage: 'Set if docker have to be installed on the machine',
  },
  {
    name: 'rackspace-active-timeout',
    kind: 'int',
    envVar: 'OS_ACTIVE_TIMEOUT',
    default: 300,
    usage: 'Rackspace active timeout',
  },
  {
    name: 'rackspace-identity-url',
    kind: 'string',
    envVar: 'RACKSPACE_IDENTITY_URL',
    default: RACKSPACE_IDENTITY,
    usage: 'Rackspace identity (v2.0) URL; for a proxy or a test fake',
  },
];

interface V2Access {
  access?: {
    token?: { id?: string; tenant?: { id?: string } };
    serviceCatalog?: {
      type: string;
      name?: string;
      endpoints?: { region?: string; publicURL?: string; internalURL?: string; adminURL?: string }[];
    }[];
  };
}

/** Rackspace identity v2.0: a token and a catalog in v3's shape (one endpoint per interface). */
export async function rackspaceSession(
  identityURL: string,
  username: string,
  apiKey: string,
  ctx?: Pick<DriverContext, 'debug' | 'signal'>,
): Promise<Session> {
  const conn = new CloudConnection({
    provider: 'Rackspace identity',
    endpoint: identityURL.replace(/\/+$/, ''),
    auth: () => ({}),
    parseError: parseOpenStackError,
    debug: ctx?.debug,
    signal: ctx?.signal,
    retry: { maxAttempts: 4 },
  });
  let b: V2Access;
  try {
    b = await conn
      .request<V2Access>(
        'POST',
        'tokens',
        { auth: { 'RAX-KSKEY:apiKeyCredentials': { username, apiKey } } },
        { idempotent: true },
      )
      .then((r) => r.body);
  } catch (err) {
    if (err instanceof CloudAPIError && err.status === 401)
      throw new MachineError(
        `Rackspace identity refused the user name and API key (HTTP 401: ${err.apiMessage.trim() || 'Unauthorized'}); check --rackspace-username and --rackspace-api-key`,
      );
    throw err;
  }
  const token = b?.access?.token?.id ?? '';
  if (!token) throw new MachineError('Rackspace identity answered without a token');
  return {
    token,
    projectID: b.access?.token?.tenant?.id ?? '',
    catalog: (b.access?.serviceCatalog ?? []).map((s) => ({
      type: s.type,
      name: s.name,
      endpoints: (s.endpoints ?? []).flatMap((e) =>
        (['public', 'internal', 'admin'] as const).flatMap((i) => {
          const url = e[`${i}URL`];
          return url ? [{ interface: i, region: e.region ?? '', url }] : [];
        }),
      ),
    })),
  };
}

class RackspaceDriver extends OpenStackDriver {
  override readonly driverName = 'rackspace';
  protected override readonly provider = 'Rackspace';
  protected override readonly managesNetwork = false;

  protected override authenticate(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Promise<Session> {
    const user = str(this.json, 'Username');
    const key = str(this.json, 'APIKey');
    if (!user || !key)
      throw new MachineError(
        'Username and API key must be specified either using the environment variables OS_USERNAME and OS_API_KEY or the CLI options --rackspace-username and --rackspace-api-key',
      );
    return rackspaceSession(str(this.json, 'IdentityURL') || RACKSPACE_IDENTITY, user, key, ctx);
  }

  /** Rackspace servers name their public address accessIPv4 (and the "public" network). */
  protected override addressOf(s: Server, wanted: { version: number }): string {
    const access = wanted.version === 6 ? s.accessIPv6 : s.accessIPv4;
    if (access) return access;
    return pickAddress(s.addresses, { version: wanted.version, floating: false, network: 'public' });
  }
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const need = (flag: string, env: string, what: string) => {
    const v = flagString(p, flag);
    if (!v)
      throw new MachineError(
        `${what} must be specified either using the environment variable ${env} or the CLI option --${flag}`,
      );
    return v;
  };
  const region = need('rackspace-region', 'OS_REGION_NAME', 'Region');
  const username = need('rackspace-username', 'OS_USERNAME', 'Username');
  const apiKey = need('rackspace-api-key', 'OS_API_KEY', 'API key');
  const endpointType = flagString(p, 'rackspace-endpoint-type');
  if (!['publicURL', 'adminURL', 'internalURL'].includes(endpointType))
    throw new MachineError(
      `invalid endpoint type "${endpointType}" (must be publicURL, adminURL or internalURL)`,
    );
  const image = flagString(p, 'rackspace-image-id');
  if (!image || image === ORIGINAL_IMAGE)
    throw new MachineError(
      "--rackspace-image-id is needed: the original's default (Ubuntu 16.04) is retired; give a current image's id (rack servers image list)",
    );
  const identity = flagString(p, 'rackspace-identity-url');
  try {
    const u = new URL(identity);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
  } catch {
    throw new MachineError(`--rackspace-identity-url "${identity}" is not an http(s) URL`);
  }
  const timeout = flagInt(p, 'rackspace-active-timeout');
  if (timeout <= 0)
    throw new MachineError(`--rackspace-active-timeout ${timeout}: give a number of seconds above 0`);
  const dockerInstall = flagString(p, 'rackspace-docker-install');
  if (dockerInstall !== 'true' && dockerInstall !== 'false')
    throw new MachineError(`--rackspace-docker-install "${dockerInstall}": give true or false`);
  const json: DriverJSON = {
    ...base,
    IdentityURL: identity,
    Username: username,
    APIKey: apiKey,
    Region: region,
    EndpointType: endpointType,
    ImageId: image,
    FlavorId: flagString(p, 'rackspace-flavor-id'),
    SSHUser: flagString(p, 'rackspace-ssh-user'),
    SSHPort: flagInt(p, 'rackspace-ssh-port'),
    DockerInstall: dockerInstall,
    ActiveTimeout: timeout,
    IpVersion: 4,
    SecurityGroups: [],
    EnginePort: 2376,
    MachineId: '',
    MachineTag: randomBytes(5).toString('hex'),
    KeyPairName: '',
    Ledger: [],
  };
  return new RackspaceDriver(json);
}

export const rackspaceDriver: DriverModule = {
  name: 'rackspace',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new RackspaceDriver(mergeDriverJSON(json, {}));
  },
};
