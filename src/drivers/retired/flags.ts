import type { FlagDef } from '../../flags/def.js';

// The original's flags of the drivers whose services or products are gone (spec §7.8), kept so
// that an old script's command line parses and gets the one line saying what to use instead,
// rather than "flag provided but not defined".

type Row = [
  name: string,
  kind: 'string' | 'int' | 'bool',
  envVar: string,
  usage: string,
  dflt?: string | number,
];

function defs(rows: Row[]): FlagDef[] {
  return rows.map(([name, kind, envVar, usage, dflt]) => ({
    name,
    kind,
    envVar,
    usage: `${usage} (retired driver)`,
    ...(dflt === undefined ? {} : { default: dflt }),
  }));
}

export const softlayerFlags = defs([
  ['softlayer-memory', 'int', 'SOFTLAYER_MEMORY', 'Memory of the server, in MB', 1024],
  [
    'softlayer-disk-size',
    'int',
    'SOFTLAYER_DISK_SIZE',
    'Disk size of the server in GB (0: the image default)',
    0,
  ],
  ['softlayer-user', 'string', 'SOFTLAYER_USER', 'SoftLayer account user name'],
  ['softlayer-api-key', 'string', 'SOFTLAYER_API_KEY', 'SoftLayer API key'],
  ['softlayer-region', 'string', 'SOFTLAYER_REGION', 'SoftLayer data center', 'dal01'],
  ['softlayer-cpu', 'int', 'SOFTLAYER_CPU', 'Number of CPUs', 1],
  [
    'softlayer-hostname',
    'string',
    'SOFTLAYER_HOSTNAME',
    'Host name of the server (default: the machine name)',
  ],
  ['softlayer-domain', 'string', 'SOFTLAYER_DOMAIN', 'Domain of the server'],
  [
    'softlayer-api-endpoint',
    'string',
    'SOFTLAYER_API_ENDPOINT',
    'SoftLayer API endpoint',
    'https://api.softlayer.com/rest/v3',
  ],
  ['softlayer-hourly-billing', 'bool', 'SOFTLAYER_HOURLY_BILLING', 'Bill the server by the hour'],
  ['softlayer-local-disk', 'bool', 'SOFTLAYER_LOCAL_DISK', 'Use a local disk rather than SAN storage'],
  ['softlayer-private-net-only', 'bool', 'SOFTLAYER_PRIVATE_NET', 'Give the server private networking only'],
  ['softlayer-image', 'string', 'SOFTLAYER_IMAGE', 'Operating system image', 'UBUNTU_LATEST'],
  ['softlayer-public-vlan-id', 'int', 'SOFTLAYER_PUBLIC_VLAN_ID', 'Public VLAN id', 0],
  ['softlayer-private-vlan-id', 'int', 'SOFTLAYER_PRIVATE_VLAN_ID', 'Private VLAN id', 0],
  ['softlayer-network-max-speed', 'int', 'SOFTLAYER_NETWORK_MAX_SPEED', 'Network port speed, in Mbps', 100],
]);

export const vmwarevcloudairFlags = defs([
  ['vmwarevcloudair-username', 'string', 'VCLOUDAIR_USERNAME', 'vCloud Air user name'],
  ['vmwarevcloudair-password', 'string', 'VCLOUDAIR_PASSWORD', 'vCloud Air password'],
  ['vmwarevcloudair-computeid', 'string', 'VCLOUDAIR_COMPUTEID', 'vCloud Air compute id (Dedicated Cloud)'],
  ['vmwarevcloudair-vdcid', 'string', 'VCLOUDAIR_VDCID', 'vCloud Air virtual data center id'],
  [
    'vmwarevcloudair-orgvdcnetwork',
    'string',
    'VCLOUDAIR_ORGVDCNETWORK',
    'Org VDC network (default: <vdcid>-default-routed)',
  ],
  ['vmwarevcloudair-edgegateway', 'string', 'VCLOUDAIR_EDGEGATEWAY', 'Edge gateway (default: <vdcid>)'],
  ['vmwarevcloudair-publicip', 'string', 'VCLOUDAIR_PUBLICIP', 'Public IP of the edge gateway to use'],
  [
    'vmwarevcloudair-catalog',
    'string',
    'VCLOUDAIR_CATALOG',
    'Catalog holding the template',
    'Public Catalog',
  ],
  [
    'vmwarevcloudair-catalogitem',
    'string',
    'VCLOUDAIR_CATALOGITEM',
    'Template in the catalog',
    'Ubuntu Server 12.04 LTS (amd64 20150127)',
  ],
  ['vmwarevcloudair-cpu-count', 'int', 'VCLOUDAIR_CPU_COUNT', 'Number of CPUs', 1],
  ['vmwarevcloudair-memory-size', 'int', 'VCLOUDAIR_MEMORY_SIZE', 'Memory, in MB', 2048],
  ['vmwarevcloudair-ssh-port', 'int', 'VCLOUDAIR_SSH_PORT', 'SSH port forwarded on the edge gateway', 22],
  [
    'vmwarevcloudair-docker-port',
    'int',
    'VCLOUDAIR_DOCKER_PORT',
    'Docker engine port forwarded on the edge gateway',
    2376,
  ],
]);

export const vmwarefusionFlags = defs([
  ['vmwarefusion-boot2docker-url', 'string', 'FUSION_BOOT2DOCKER_URL', 'URL of the boot2docker ISO'],
  ['vmwarefusion-configdrive-url', 'string', 'FUSION_CONFIGDRIVE_URL', 'URL of a cloud-init config drive'],
  ['vmwarefusion-cpu-count', 'int', 'FUSION_CPU_COUNT', 'Number of CPUs (-1: all of the host)', 1],
  ['vmwarefusion-memory-size', 'int', 'FUSION_MEMORY_SIZE', 'Memory, in MB', 1024],
  ['vmwarefusion-disk-size', 'int', 'FUSION_DISK_SIZE', 'Disk size, in MB', 20000],
  ['vmwarefusion-ssh-user', 'string', 'FUSION_SSH_USER', 'SSH user of the VM', 'docker'],
  ['vmwarefusion-ssh-password', 'string', 'FUSION_SSH_PASSWORD', 'SSH password of the VM', 'tcuser'],
  ['vmwarefusion-no-share', 'bool', 'FUSION_NO_SHARE', 'Do not share the home folder with the VM'],
]);
