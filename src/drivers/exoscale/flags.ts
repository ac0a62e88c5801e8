import type { FlagDef } from '../../flags/def.js';

/**
 * The original's exoscale flags and environment variables (spec §7.7), ported to Exoscale's v2
 * API. Defaults that named things Exoscale no longer offers are current ones.
 */

/** The original's v1 endpoint: a store of the original keeps it; it means "Exoscale's default" here. */
export const V1_ENDPOINT = 'https://api.exoscale.ch/compute';
/** Where the zone list is asked for when no --exoscale-url is given: any zone's API answers it. */
export const DEFAULT_ENDPOINT = 'https://api-ch-gva-2.exoscale.com/v2';
/** The original's Ubuntu 16.04 template is long gone: the current LTS. */
export const DEFAULT_IMAGE = 'Linux Ubuntu 24.04 LTS 64-bit';
export const DEFAULT_ZONE = 'ch-dk-2';
export const DEFAULT_PROFILE = 'Small';
export const DEFAULT_SECURITY_GROUP = 'docker-machine';

export const flags: FlagDef[] = [
  {
    name: 'exoscale-url',
    kind: 'string',
    envVar: 'EXOSCALE_ENDPOINT',
    usage: `Exoscale API endpoint the zone list is read from (default ${DEFAULT_ENDPOINT}); for a proxy or a test fake`,
  },
  { name: 'exoscale-api-key', kind: 'string', envVar: 'EXOSCALE_API_KEY', usage: 'exoscale API key' },
  {
    name: 'exoscale-api-secret-key',
    kind: 'string',
    envVar: 'EXOSCALE_API_SECRET',
    usage: 'exoscale API secret key (default: $EXOSCALE_API_SECRET_KEY too)',
  },
  {
    name: 'exoscale-instance-profile',
    kind: 'string',
    envVar: 'EXOSCALE_INSTANCE_PROFILE',
    default: DEFAULT_PROFILE,
    usage: "exoscale instance type: the original's names (Small, Medium...) or family.size (standard.small)",
  },
  {
    name: 'exoscale-disk-size',
    kind: 'int',
    envVar: 'EXOSCALE_DISK_SIZE',
    default: 50,
    usage: 'exoscale disk size (GiB, 10 to 51200)',
  },
  {
    name: 'exoscale-image',
    kind: 'string',
    envVar: 'EXOSCALE_IMAGE',
    default: DEFAULT_IMAGE,
    usage: 'exoscale template: its name, its id, or <distro>-<version> (ubuntu-24.04)',
  },
  {
    name: 'exoscale-security-group',
    kind: 'stringSlice',
    envVar: 'EXOSCALE_SECURITY_GROUP',
    default: [DEFAULT_SECURITY_GROUP],
    usage: 'exoscale security group (made with the engine and SSH rules when missing)',
  },
  {
    name: 'exoscale-availability-zone',
    kind: 'string',
    envVar: 'EXOSCALE_AVAILABILITY_ZONE',
    default: DEFAULT_ZONE,
    usage: 'exoscale availability zone',
  },
  {
    name: 'exoscale-ssh-user',
    kind: 'string',
    envVar: 'EXOSCALE_SSH_USER',
    usage: "name of the ssh user (default: the template's default user)",
  },
  {
    name: 'exoscale-ssh-key',
    kind: 'string',
    envVar: 'EXOSCALE_SSH_KEY',
    usage: 'path to the SSH user private key (its .pub is given to cloud-init)',
  },
  {
    name: 'exoscale-userdata',
    kind: 'string',
    envVar: 'EXOSCALE_USERDATA',
    usage: 'path to file with cloud-init user-data',
  },
  {
    name: 'exoscale-affinity-group',
    kind: 'stringSlice',
    envVar: 'EXOSCALE_AFFINITY_GROUP',
    usage: 'exoscale anti-affinity group (made when missing)',
  },
];

const SIZES = ['micro', 'tiny', 'small', 'medium', 'large', 'extra-large', 'huge', 'mega', 'titan', 'jumbo'];

/**
 * The instance type's family and size: the original's offering names ("Small", "Extra-large")
 * are the standard family's sizes; "family.size" is taken as it is. '' when it is neither.
 */
export function instanceTypeName(profile: string): string {
  const p = profile.trim().toLowerCase();
  if (/^[a-z0-9]+\.[a-z0-9-]+$/.test(p)) return p;
  return SIZES.includes(p) ? `standard.${p}` : '';
}
