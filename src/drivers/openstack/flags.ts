import type { FlagDef } from '../../flags/def.js';

/**
 * The original's openstack flags and environment variables (spec §7.8), and what the forks and
 * the openstack client added (clouds.md §6.3): projects and domains by name or id, application
 * credentials, a clouds.yaml entry, boot from volume, a server group. Where the openstack client
 * reads a newer variable (OS_PROJECT_NAME) the original read an older one (OS_TENANT_NAME): both
 * are read, the original's first (see settings.ts).
 */

const s = (name: string, envVar: string | undefined, usage: string, def?: string): FlagDef => ({
  name: `openstack-${name}`,
  kind: 'string',
  ...(envVar ? { envVar } : {}),
  ...(def !== undefined ? { default: def } : {}),
  usage,
});

export const flags: FlagDef[] = [
  s('auth-url', 'OS_AUTH_URL', 'OpenStack authentication URL (Keystone v3)'),
  s('cloud', 'OS_CLOUD', 'an entry of clouds.yaml to take the credentials, region and TLS settings from'),
  {
    name: 'openstack-insecure',
    kind: 'bool',
    envVar: 'OS_INSECURE',
    usage: 'Disable TLS credential checking.',
  },
  s('cacert', 'OS_CACERT', 'CA certificate bundle to verify against'),
  s('domain-id', 'OS_DOMAIN_ID', 'OpenStack domain ID (identity v3 only)'),
  s('domain-name', 'OS_DOMAIN_NAME', 'OpenStack domain name (identity v3 only)'),
  s('user-domain-id', 'OS_USER_DOMAIN_ID', "OpenStack user's domain ID (default: --openstack-domain-id)"),
  s(
    'user-domain-name',
    'OS_USER_DOMAIN_NAME',
    "OpenStack user's domain name (default: --openstack-domain-name)",
  ),
  s('username', 'OS_USERNAME', 'OpenStack username'),
  s('user-id', 'OS_USER_ID', 'OpenStack user ID'),
  s('password', 'OS_PASSWORD', 'OpenStack password'),
  s('tenant-name', 'OS_TENANT_NAME', 'OpenStack tenant (project) name (also $OS_PROJECT_NAME)'),
  s('tenant-id', 'OS_TENANT_ID', 'OpenStack tenant (project) ID (also $OS_PROJECT_ID)'),
  s(
    'tenant-domain-id',
    'OS_PROJECT_DOMAIN_ID',
    "OpenStack project's domain ID (default: --openstack-domain-id)",
  ),
  s(
    'tenant-domain-name',
    'OS_PROJECT_DOMAIN_NAME',
    "OpenStack project's domain name (default: --openstack-domain-name)",
  ),
  s('application-credential-id', 'OS_APPLICATION_CREDENTIAL_ID', 'OpenStack application credential ID'),
  s('application-credential-name', 'OS_APPLICATION_CREDENTIAL_NAME', 'OpenStack application credential name'),
  s(
    'application-credential-secret',
    'OS_APPLICATION_CREDENTIAL_SECRET',
    'OpenStack application credential secret',
  ),
  s('token', 'OS_TOKEN', 'an existing Keystone token to authenticate with (instead of a password)'),
  s('region', 'OS_REGION_NAME', 'OpenStack region name'),
  s('availability-zone', 'OS_AVAILABILITY_ZONE', 'OpenStack availability zone'),
  s(
    'endpoint-type',
    'OS_ENDPOINT_TYPE',
    'OpenStack endpoint type (publicURL, internalURL or adminURL; also $OS_INTERFACE: public, internal, admin)',
  ),
  s('flavor-id', 'OS_FLAVOR_ID', 'OpenStack flavor id to use for the instance'),
  s('flavor-name', 'OS_FLAVOR_NAME', 'OpenStack flavor name to use for the instance'),
  s('image-id', 'OS_IMAGE_ID', 'OpenStack image id to use for the instance'),
  s('image-name', 'OS_IMAGE_NAME', 'OpenStack image name to use for the instance'),
  s('keypair-name', 'OS_KEYPAIR_NAME', 'OpenStack keypair to use to SSH to the instance'),
  s('net-id', 'OS_NETWORK_ID', 'OpenStack network id the machine will be connected on'),
  s('net-name', 'OS_NETWORK_NAME', 'OpenStack network name the machine will be connected on'),
  s('private-key-file', 'OS_PRIVATE_KEY_FILE', 'Private keyfile to use for SSH (absolute path)'),
  s('user-data-file', 'OS_USER_DATA_FILE', 'File containing an openstack userdata script'),
  s(
    'sec-groups',
    'OS_SECURITY_GROUPS',
    'OpenStack comma separated security groups for the machine (default: one made for this machine)',
  ),
  {
    name: 'openstack-nova-network',
    kind: 'bool',
    envVar: 'OS_NOVA_NETWORK',
    usage: 'Use the nova networking services instead of neutron.',
  },
  s(
    'floatingip-pool',
    'OS_FLOATINGIP_POOL',
    'OpenStack floating IP pool to get an IP from to assign to the instance',
  ),
  {
    name: 'openstack-ip-version',
    kind: 'int',
    envVar: 'OS_IP_VERSION',
    default: 4,
    usage: 'OpenStack version of IP address assigned for the machine',
  },
  s('ssh-user', 'OS_SSH_USER', 'OpenStack SSH user', 'root'),
  {
    name: 'openstack-ssh-port',
    kind: 'int',
    envVar: 'OS_SSH_PORT',
    default: 22,
    usage: 'OpenStack SSH port',
  },
  {
    name: 'openstack-active-timeout',
    kind: 'int',
    envVar: 'OS_ACTIVE_TIMEOUT',
    default: 200,
    usage: 'OpenStack active timeout (seconds)',
  },
  {
    name: 'openstack-config-drive',
    kind: 'bool',
    envVar: 'OS_CONFIG_DRIVE',
    usage: 'Enables the OpenStack config drive for the instance',
  },
  s('metadata', 'OS_METADATA', 'OpenStack Instance Metadata (e.g. key1,value1,key2,value2)'),
  {
    name: 'openstack-boot-from-volume',
    kind: 'bool',
    envVar: 'OS_BOOT_FROM_VOLUME',
    usage: 'boot from a new volume made from the image (deleted with the server)',
  },
  {
    name: 'openstack-volume-size',
    kind: 'int',
    envVar: 'OS_VOLUME_SIZE',
    default: 0,
    usage: 'size of the boot volume in GB (default: the flavor disk size)',
  },
  s('volume-type', 'OS_VOLUME_TYPE', 'volume type of the boot volume'),
  s(
    'volume-name',
    'OS_VOLUME_NAME',
    'boot from the existing volume of this name (kept on rm); with --openstack-boot-from-volume, the name of the new boot volume',
  ),
  s('volume-id', 'OS_VOLUME_ID', 'boot from this existing volume (kept on rm)'),
  s('volume-device-path', 'OS_VOLUME_DEVICE_PATH', 'device name of the boot volume (e.g. /dev/vda)'),
  s('server-group-id', 'OS_SERVER_GROUP_ID', 'OpenStack server group ID to put the instance in'),
  s('server-group-name', 'OS_SERVER_GROUP_NAME', 'OpenStack server group name to put the instance in'),
];

/** The original's names for endpoint types and the openstack client's interfaces, as a catalog says them. */
export function interfaceOf(endpointType: string): string | undefined {
  const t = endpointType.trim();
  if (t === '') return 'public';
  const m = /^(public|internal|admin)(URL)?$/.exec(t);
  return m ? m[1] : undefined;
}
