import { tcpPort } from '../../flags/checks.js';
import type { FlagDef } from '../../flags/def.js';

/**
 * The flags and environment variables of the hetzner plugin (JonasProgrammer/
 * docker-machine-driver-hetzner), with the port's additions: an endpoint override and the
 * engine port.
 */

export const DEFAULT_ENDPOINT = 'https://api.hetzner.cloud/v1';
/** The plugin's ubuntu-20.04 is past its support; a current LTS. */
export const DEFAULT_IMAGE = 'ubuntu-24.04';
/** The plugin's cx11 is no longer orderable (since 2024-09-06). */
export const DEFAULT_SERVER_TYPE = 'cx22';

export const flags: FlagDef[] = [
  {
    name: 'hetzner-api-token',
    kind: 'string',
    envVar: 'HETZNER_API_TOKEN',
    usage:
      "Project-specific Hetzner API token (default: $HCLOUD_TOKEN, then the active context of the hcloud CLI's config)",
  },
  {
    name: 'hetzner-api-endpoint',
    kind: 'string',
    envVar: 'HCLOUD_ENDPOINT',
    default: DEFAULT_ENDPOINT,
    usage: 'Hetzner Cloud API endpoint, for a proxy, a private mirror or a test fake',
  },
  {
    name: 'hetzner-image',
    kind: 'string',
    envVar: 'HETZNER_IMAGE',
    default: DEFAULT_IMAGE,
    usage: 'Image to use for server creation (a name)',
  },
  {
    name: 'hetzner-image-id',
    kind: 'int',
    envVar: 'HETZNER_IMAGE_ID',
    usage: 'Image to use for server creation (an id; wins over --hetzner-image)',
  },
  {
    name: 'hetzner-image-arch',
    kind: 'string',
    envVar: 'HETZNER_IMAGE_ARCH',
    usage: "Image architecture (x86 or arm; default: the server type's)",
  },
  {
    name: 'hetzner-server-type',
    kind: 'string',
    envVar: 'HETZNER_TYPE',
    default: DEFAULT_SERVER_TYPE,
    usage: 'Server type to create',
  },
  {
    name: 'hetzner-server-location',
    kind: 'string',
    envVar: 'HETZNER_LOCATION',
    usage: 'Location to create machine at',
  },
  {
    name: 'hetzner-existing-key-path',
    kind: 'string',
    envVar: 'HETZNER_EXISTING_KEY_PATH',
    usage:
      'Path to existing key (new public key will be created unless --hetzner-existing-key-id is specified)',
  },
  {
    name: 'hetzner-existing-key-id',
    kind: 'int',
    envVar: 'HETZNER_EXISTING_KEY_ID',
    usage: 'Existing key ID to use for server; requires --hetzner-existing-key-path',
  },
  {
    name: 'hetzner-additional-key',
    kind: 'stringSlice',
    envVar: 'HETZNER_ADDITIONAL_KEYS',
    usage: 'Additional public keys to be attached to the server (a .pub line; repeatable)',
  },
  {
    name: 'hetzner-user-data',
    kind: 'string',
    envVar: 'HETZNER_USER_DATA',
    usage: 'Cloud-init based user data (inline)',
  },
  {
    name: 'hetzner-user-data-file',
    kind: 'string',
    envVar: 'HETZNER_USER_DATA_FILE',
    usage: 'Cloud-init based user data read from a file',
  },
  {
    name: 'hetzner-volumes',
    kind: 'stringSlice',
    envVar: 'HETZNER_VOLUMES',
    usage: 'Volume IDs or names which should be attached to the server',
  },
  {
    name: 'hetzner-networks',
    kind: 'stringSlice',
    envVar: 'HETZNER_NETWORKS',
    usage: 'Network IDs or names which should be attached to the server private network interface',
  },
  {
    name: 'hetzner-use-private-network',
    kind: 'bool',
    envVar: 'HETZNER_USE_PRIVATE_NETWORK',
    usage: 'Use private network',
  },
  {
    name: 'hetzner-disable-public-ipv4',
    kind: 'bool',
    envVar: 'HETZNER_DISABLE_PUBLIC_IPV4',
    usage: 'Disable public ipv4',
  },
  {
    name: 'hetzner-disable-public-ipv6',
    kind: 'bool',
    envVar: 'HETZNER_DISABLE_PUBLIC_IPV6',
    usage: 'Disable public ipv6',
  },
  {
    name: 'hetzner-disable-public',
    kind: 'bool',
    envVar: 'HETZNER_DISABLE_PUBLIC',
    usage: 'Disable public ip (v4 & v6)',
  },
  {
    name: 'hetzner-primary-ipv4',
    kind: 'string',
    envVar: 'HETZNER_PRIMARY_IPV4',
    usage: 'Existing primary IPv4 address (an address, id or name)',
  },
  {
    name: 'hetzner-primary-ipv6',
    kind: 'string',
    envVar: 'HETZNER_PRIMARY_IPV6',
    usage: 'Existing primary IPv6 address (an address, id or name)',
  },
  {
    name: 'hetzner-firewalls',
    kind: 'stringSlice',
    envVar: 'HETZNER_FIREWALLS',
    usage: 'Firewall IDs or names which should be applied on the server',
  },
  {
    name: 'hetzner-server-label',
    kind: 'stringSlice',
    envVar: 'HETZNER_SERVER_LABELS',
    usage: 'Key value pairs of additional labels to assign to the server (key=value)',
  },
  {
    name: 'hetzner-key-label',
    kind: 'stringSlice',
    envVar: 'HETZNER_KEY_LABELS',
    usage: 'Key value pairs of additional labels to assign to the SSH key (key=value)',
  },
  {
    name: 'hetzner-placement-group',
    kind: 'string',
    envVar: 'HETZNER_PLACEMENT_GROUP',
    usage: 'Placement group ID or name to add the server to',
  },
  {
    name: 'hetzner-auto-spread',
    kind: 'bool',
    envVar: 'HETZNER_AUTO_SPREAD',
    usage: 'Auto-spread on a docker-machine-specific default placement group',
  },
  {
    name: 'hetzner-ssh-user',
    kind: 'string',
    envVar: 'HETZNER_SSH_USER',
    default: 'root',
    usage: 'SSH username',
  },
  {
    name: 'hetzner-ssh-port',
    kind: 'int',
    envVar: 'HETZNER_SSH_PORT',
    default: 22,
    check: tcpPort,
    usage: 'SSH port',
  },
  {
    name: 'hetzner-engine-port',
    kind: 'int',
    envVar: 'HETZNER_ENGINE_PORT',
    default: 2376,
    check: tcpPort,
    usage: 'Docker engine port',
  },
  {
    name: 'hetzner-wait-on-polling',
    kind: 'int',
    envVar: 'HETZNER_WAIT_ON_POLLING',
    default: 1,
    usage: 'Period for waiting between requests when waiting for some state to change (seconds)',
  },
  {
    name: 'hetzner-wait-for-running-timeout',
    kind: 'int',
    envVar: 'HETZNER_WAIT_FOR_RUNNING_TIMEOUT',
    usage: 'Period for waiting for a machine to be running before failing (seconds; 0: 10 minutes)',
  },
];
