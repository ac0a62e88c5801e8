import type { FlagDef } from '../../flags/def.js';

/** The original's flags, environment variables and defaults (spec §7.8), and the port's additions. */
export const DEFAULT_API_URL = 'https://api.digitalocean.com';
/** The original's ubuntu-16-04-x64 is retired (DigitalOcean answers 422); this is a current LTS. */
export const DEFAULT_IMAGE = 'ubuntu-24-04-x64';

export const flags: FlagDef[] = [
  {
    name: 'digitalocean-access-token',
    kind: 'string',
    envVar: 'DIGITALOCEAN_ACCESS_TOKEN',
    usage: "Digital Ocean access token (default: the access-token of doctl's config file)",
  },
  {
    name: 'digitalocean-api-url',
    kind: 'string',
    default: DEFAULT_API_URL,
    envVar: 'DIGITALOCEAN_API_URL',
    usage: 'Digital Ocean API endpoint, for a proxy or a test fake',
  },
  {
    name: 'digitalocean-ssh-user',
    kind: 'string',
    default: 'root',
    envVar: 'DIGITALOCEAN_SSH_USER',
    usage: 'SSH username',
  },
  {
    name: 'digitalocean-ssh-key-fingerprint',
    kind: 'string',
    envVar: 'DIGITALOCEAN_SSH_KEY_FINGERPRINT',
    usage: 'SSH key fingerprint of an existing key in the account (MD5, as the control panel shows it)',
  },
  {
    name: 'digitalocean-ssh-key-path',
    kind: 'string',
    envVar: 'DIGITALOCEAN_SSH_KEY_PATH',
    usage: 'SSH private key path of the key given by --digitalocean-ssh-key-fingerprint',
  },
  {
    name: 'digitalocean-ssh-port',
    kind: 'int',
    default: 22,
    envVar: 'DIGITALOCEAN_SSH_PORT',
    usage: 'SSH port',
  },
  {
    name: 'digitalocean-engine-port',
    kind: 'int',
    default: 2376,
    envVar: 'DIGITALOCEAN_ENGINE_PORT',
    usage: 'Docker engine port',
  },
  {
    name: 'digitalocean-image',
    kind: 'string',
    default: DEFAULT_IMAGE,
    envVar: 'DIGITALOCEAN_IMAGE',
    usage: 'Digital Ocean image: a slug or a numeric id (snapshots, custom images)',
  },
  {
    name: 'digitalocean-region',
    kind: 'string',
    default: 'nyc3',
    envVar: 'DIGITALOCEAN_REGION',
    usage: 'Digital Ocean region',
  },
  {
    name: 'digitalocean-size',
    kind: 'string',
    default: 's-1vcpu-1gb',
    envVar: 'DIGITALOCEAN_SIZE',
    usage: 'Digital Ocean size',
  },
  { name: 'digitalocean-ipv6', kind: 'bool', envVar: 'DIGITALOCEAN_IPV6', usage: 'enable ipv6 for droplet' },
  {
    name: 'digitalocean-private-networking',
    kind: 'bool',
    envVar: 'DIGITALOCEAN_PRIVATE_NETWORKING',
    usage: 'enable private networking for droplet',
  },
  {
    name: 'digitalocean-vpc-uuid',
    kind: 'string',
    envVar: 'DIGITALOCEAN_VPC_UUID',
    usage: "VPC the droplet's private interface joins (default: the region's default VPC)",
  },
  {
    name: 'digitalocean-backups',
    kind: 'bool',
    envVar: 'DIGITALOCEAN_BACKUPS',
    usage: 'enable backups for droplet',
  },
  {
    name: 'digitalocean-userdata',
    kind: 'string',
    envVar: 'DIGITALOCEAN_USERDATA',
    usage: 'path to file with cloud-init user-data',
  },
  {
    name: 'digitalocean-monitoring',
    kind: 'bool',
    envVar: 'DIGITALOCEAN_MONITORING',
    usage: 'enable monitoring for droplet',
  },
  {
    name: 'digitalocean-tags',
    kind: 'string',
    envVar: 'DIGITALOCEAN_TAGS',
    usage: 'comma-separated list of tags to apply to the Droplet',
  },
];
