import { readFileSync } from 'node:fs';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagString } from '../../flags/def.js';
import type { DriverJSON } from '../../store/host.js';
import { bool, str } from '../base.js';
import { readCloud } from './auth/clouds-yaml.js';
import type { Credentials, TLS } from './auth/keystone.js';
import { interfaceOf } from './flags.js';
import { parseMetadata } from './state.js';

/**
 * The settings a machine keeps in config.json, with the original's field names where it had the
 * setting (AuthUrl, TenantName, FlavorId...), from the flags, the environment's newer aliases
 * and a clouds.yaml entry. Precedence: a flag on the command line, then the clouds.yaml entry,
 * then the environment (as the flag's default).
 */
export function settingsFromFlags(
  p: ParsedFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): DriverJSON {
  const cloudName = flagString(p, 'openstack-cloud');
  const cloud = cloudName ? readCloud(cloudName, env, cwd) : undefined;
  const a = cloud?.auth ?? {};
  const pick = (flag: string, fromCloud: string | undefined, alias?: string): string => {
    if (p.explicit.has(flag)) return flagString(p, flag);
    if (fromCloud) return fromCloud;
    return flagString(p, flag) || (alias ? (env[alias] ?? '') : '');
  };
  const endpointType = pick('openstack-endpoint-type', cloud?.interface, 'OS_INTERFACE');
  const json: DriverJSON = {
    AuthUrl: pick('openstack-auth-url', a.auth_url),
    CloudName: cloudName,
    ActiveTimeout: flagInt(p, 'openstack-active-timeout'),
    Insecure: p.explicit.has('openstack-insecure')
      ? flagBool(p, 'openstack-insecure')
      : cloud?.insecure || flagBool(p, 'openstack-insecure'),
    CaCert: pick('openstack-cacert', cloud?.cacert),
    DomainID: pick('openstack-domain-id', a.domain_id),
    DomainName: pick('openstack-domain-name', a.domain_name),
    UserDomainID: pick('openstack-user-domain-id', a.user_domain_id),
    UserDomainName: pick('openstack-user-domain-name', a.user_domain_name),
    UserID: pick('openstack-user-id', a.user_id),
    Username: pick('openstack-username', a.username),
    Password: pick('openstack-password', a.password),
    TenantName: pick('openstack-tenant-name', a.project_name || a.tenant_name, 'OS_PROJECT_NAME'),
    TenantId: pick('openstack-tenant-id', a.project_id || a.tenant_id, 'OS_PROJECT_ID'),
    TenantDomainID: pick('openstack-tenant-domain-id', a.project_domain_id),
    TenantDomainName: pick('openstack-tenant-domain-name', a.project_domain_name),
    ApplicationCredentialID: pick('openstack-application-credential-id', a.application_credential_id),
    ApplicationCredentialName: pick('openstack-application-credential-name', a.application_credential_name),
    ApplicationCredentialSecret: pick(
      'openstack-application-credential-secret',
      a.application_credential_secret,
    ),
    Token: pick('openstack-token', a.token),
    Region: pick('openstack-region', cloud?.regionName),
    AvailabilityZone: flagString(p, 'openstack-availability-zone'),
    EndpointType: endpointType,
    FlavorName: flagString(p, 'openstack-flavor-name'),
    FlavorId: flagString(p, 'openstack-flavor-id'),
    ImageName: flagString(p, 'openstack-image-name'),
    ImageId: flagString(p, 'openstack-image-id'),
    KeyPairName: flagString(p, 'openstack-keypair-name'),
    NetworkName: flagString(p, 'openstack-net-name'),
    NetworkId: flagString(p, 'openstack-net-id'),
    PrivateKeyFile: flagString(p, 'openstack-private-key-file'),
    UserDataFile: flagString(p, 'openstack-user-data-file'),
    SecurityGroups: flagString(p, 'openstack-sec-groups')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    ComputeNetwork: flagBool(p, 'openstack-nova-network'),
    FloatingIpPool: flagString(p, 'openstack-floatingip-pool'),
    FloatingIpPoolId: '',
    IpVersion: flagInt(p, 'openstack-ip-version'),
    ConfigDrive: flagBool(p, 'openstack-config-drive'),
    Metadata: flagString(p, 'openstack-metadata'),
    BootFromVolume: flagBool(p, 'openstack-boot-from-volume'),
    VolumeSize: flagInt(p, 'openstack-volume-size'),
    VolumeType: flagString(p, 'openstack-volume-type'),
    VolumeName: flagString(p, 'openstack-volume-name'),
    VolumeId: flagString(p, 'openstack-volume-id'),
    VolumeDevicePath: flagString(p, 'openstack-volume-device-path'),
    ServerGroupID: flagString(p, 'openstack-server-group-id'),
    ServerGroupName: flagString(p, 'openstack-server-group-name'),
  };
  validate(json);
  return json;
}

function both(json: DriverJSON, a: string, b: string, fa: string, fb: string): void {
  if (str(json, a) && str(json, b))
    throw new MachineError(`Either ${fa} or ${fb} must be specified, not both`);
}

/** The original's checks (spec §7.8), in its words where it had them, and the additions' own. */
export function validate(json: DriverJSON): void {
  if (!str(json, 'AuthUrl'))
    throw new MachineError(
      'Authentication URL must be specified either using the environment variable OS_AUTH_URL or the CLI option --openstack-auth-url (or --openstack-cloud)',
    );
  const appCred = str(json, 'ApplicationCredentialID') || str(json, 'ApplicationCredentialName');
  if (!appCred && !str(json, 'Token')) {
    if (!str(json, 'Username') && !str(json, 'UserID'))
      throw new MachineError(
        'Username must be specified either using the environment variable OS_USERNAME or the CLI option --openstack-username',
      );
    if (!str(json, 'Password'))
      throw new MachineError(
        'Password must be specified either using the environment variable OS_PASSWORD or the CLI option --openstack-password',
      );
  }
  if (!appCred && !str(json, 'TenantName') && !str(json, 'TenantId'))
    throw new MachineError(
      'Tenant id or name must be provided either using one of the environment variables OS_TENANT_ID and OS_TENANT_NAME or one of the CLI options --openstack-tenant-id and --openstack-tenant-name',
    );
  both(json, 'FlavorName', 'FlavorId', '--openstack-flavor-name', '--openstack-flavor-id');
  if (!str(json, 'FlavorName') && !str(json, 'FlavorId'))
    throw new MachineError(
      'Flavor name or id must be specified using the CLI option --openstack-flavor-name or --openstack-flavor-id',
    );
  both(json, 'ImageName', 'ImageId', '--openstack-image-name', '--openstack-image-id');
  if (!str(json, 'ImageName') && !str(json, 'ImageId'))
    throw new MachineError(
      'Image name or id must be specified using the CLI option --openstack-image-name or --openstack-image-id',
    );
  both(json, 'NetworkName', 'NetworkId', '--openstack-net-name', '--openstack-net-id');
  both(
    json,
    'ServerGroupName',
    'ServerGroupID',
    '--openstack-server-group-name',
    '--openstack-server-group-id',
  );
  if (!!str(json, 'KeyPairName') !== !!str(json, 'PrivateKeyFile'))
    throw new MachineError(
      'Both --openstack-keypair-name and --openstack-private-key-file must be specified',
    );
  if (interfaceOf(str(json, 'EndpointType')) === undefined)
    throw new MachineError(
      `Endpoint type must be 'publicURL', 'adminURL' or 'internalURL' (or public, admin, internal); got '${str(json, 'EndpointType')}'`,
    );
  const v = Number(json.IpVersion);
  if (v !== 4 && v !== 6) throw new MachineError(`--openstack-ip-version ${v}: give 4 or 6`);
  const t = Number(json.ActiveTimeout);
  if (!Number.isInteger(t) || t <= 0)
    throw new MachineError(`--openstack-active-timeout ${t}: give a number of seconds above 0`);
  validateVolume(json);
  const vs = Number(json.VolumeSize);
  if (vs < 0)
    throw new MachineError(
      `--openstack-volume-size ${vs}: give a size in GB, or leave it out for the flavor's`,
    );
  if ((vs > 0 || str(json, 'VolumeType')) && !bool(json, 'BootFromVolume'))
    throw new MachineError(
      '--openstack-volume-size and --openstack-volume-type need --openstack-boot-from-volume',
    );
  const md = parseMetadata(str(json, 'Metadata'));
  if (typeof md === 'string') throw new MachineError(md);
  if (bool(json, 'ComputeNetwork') && str(json, 'NetworkName'))
    throw new MachineError(
      '--openstack-net-name needs Neutron: with --openstack-nova-network give --openstack-net-id',
    );
}

export function credentialsOf(json: DriverJSON): Credentials {
  return {
    authURL: str(json, 'AuthUrl'),
    userID: str(json, 'UserID'),
    username: str(json, 'Username'),
    password: str(json, 'Password'),
    userDomainID: str(json, 'UserDomainID') || str(json, 'DomainID'),
    userDomainName: str(json, 'UserDomainName') || str(json, 'DomainName'),
    projectID: str(json, 'TenantId'),
    projectName: str(json, 'TenantName'),
    projectDomainID: str(json, 'TenantDomainID') || str(json, 'DomainID'),
    projectDomainName: str(json, 'TenantDomainName') || str(json, 'DomainName'),
    appCredID: str(json, 'ApplicationCredentialID'),
    appCredName: str(json, 'ApplicationCredentialName'),
    appCredSecret: str(json, 'ApplicationCredentialSecret'),
    token: str(json, 'Token'),
  };
}

/** --openstack-cacert's certificates (read at each command: a renewed bundle is picked up). */
export function tlsOf(json: DriverJSON): TLS {
  if (bool(json, 'Insecure')) return { insecure: true };
  const file = str(json, 'CaCert');
  if (!file) return {};
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    throw new MachineError(`--openstack-cacert ${file} could not be read; give the path of a PEM CA bundle`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new MachineError(`--openstack-cacert ${file} holds no PEM certificate`);
  return { ca: [pem] };
}

/**
 * Rancher's boot volume flags: --openstack-volume-id (or, without --openstack-boot-from-volume,
 * --openstack-volume-name) boots from an existing volume, which stays when the machine goes; with
 * --openstack-boot-from-volume the name is the new volume's.
 */
function validateVolume(json: DriverJSON): void {
  const id = str(json, 'VolumeId');
  const name = str(json, 'VolumeName');
  const dev = str(json, 'VolumeDevicePath');
  both(json, 'VolumeId', 'VolumeName', '--openstack-volume-id', '--openstack-volume-name');
  const existing = !!id || (!!name && !bool(json, 'BootFromVolume'));
  if (existing && (Number(json.VolumeSize) > 0 || str(json, 'VolumeType')))
    throw new MachineError(
      `--openstack-volume-size and --openstack-volume-type are for a new volume; the existing volume ${id || name} is used as it is`,
    );
  if (dev && !existing && !bool(json, 'BootFromVolume'))
    throw new MachineError(
      '--openstack-volume-device-path needs a boot volume: --openstack-boot-from-volume or --openstack-volume-id',
    );
  if (dev && !/^\/dev\/[A-Za-z0-9_./-]+$/.test(dev))
    throw new MachineError(`--openstack-volume-device-path ${dev}: give a device such as /dev/vda`);
}
