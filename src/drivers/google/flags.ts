import type { FlagDef } from '../../flags/def.js';

/**
 * The google driver's flags: the original's (spec §7.8) with its environment variables, what the
 * Rancher and GitLab forks added that their users rely on, and the endpoint override.
 */

export const DEFAULT_ENDPOINT = 'https://compute.googleapis.com/';
/**
 * The original's ubuntu-1604-xenial-v20170721 was deprecated years ago: a family, so that the
 * newest image of the current LTS is used.
 */
export const DEFAULT_IMAGE = 'ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64';
export const DEFAULT_SCOPES =
  'https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/logging.write,https://www.googleapis.com/auth/monitoring.write';

export const flags: FlagDef[] = [
  {
    name: 'google-zone',
    kind: 'string',
    envVar: 'GOOGLE_ZONE',
    default: 'us-central1-a',
    usage: 'GCE Zone',
  },
  {
    name: 'google-machine-type',
    kind: 'string',
    envVar: 'GOOGLE_MACHINE_TYPE',
    default: 'n1-standard-1',
    usage: 'GCE Machine Type',
  },
  {
    name: 'google-machine-image',
    kind: 'string',
    envVar: 'GOOGLE_MACHINE_IMAGE',
    default: DEFAULT_IMAGE,
    usage:
      'GCE Machine Image: a URL, PROJECT/global/images/NAME, PROJECT/global/images/family/FAMILY, PROJECT/NAME-OR-FAMILY, or an image or family name of a public image project',
  },
  {
    name: 'google-username',
    kind: 'string',
    envVar: 'GOOGLE_USERNAME',
    default: 'docker-user',
    usage: 'GCE User Name',
  },
  {
    name: 'google-project',
    kind: 'string',
    envVar: 'GOOGLE_PROJECT',
    usage: 'GCE Project',
  },
  {
    name: 'google-auth-encoded-json',
    kind: 'string',
    envVar: 'GOOGLE_AUTH_ENCODED_JSON',
    usage: 'A service account or authorized user key (the JSON file) encoded in base64',
  },
  {
    name: 'google-service-account',
    kind: 'string',
    envVar: 'GOOGLE_SERVICE_ACCOUNT',
    default: 'default',
    usage: 'GCE Service Account for the VM (email address)',
  },
  {
    name: 'google-scopes',
    kind: 'string',
    envVar: 'GOOGLE_SCOPES',
    default: DEFAULT_SCOPES,
    usage: 'GCE Scopes (comma-separated if multiple scopes)',
  },
  {
    name: 'google-disk-size',
    kind: 'int',
    envVar: 'GOOGLE_DISK_SIZE',
    default: 10,
    usage: 'GCE Instance Disk Size (in GB)',
  },
  {
    name: 'google-disk-type',
    kind: 'string',
    envVar: 'GOOGLE_DISK_TYPE',
    default: 'pd-standard',
    usage: 'GCE Instance Disk type',
  },
  {
    name: 'google-network',
    kind: 'string',
    envVar: 'GOOGLE_NETWORK',
    default: 'default',
    usage: 'Specify network in which to provision vm',
  },
  {
    name: 'google-subnetwork',
    kind: 'string',
    envVar: 'GOOGLE_SUBNETWORK',
    usage: 'Specify subnetwork in which to provision vm',
  },
  {
    name: 'google-address',
    kind: 'string',
    envVar: 'GOOGLE_ADDRESS',
    usage: 'GCE Instance External IP (a reserved static address: its name or the address)',
  },
  {
    name: 'google-preemptible',
    kind: 'bool',
    envVar: 'GOOGLE_PREEMPTIBLE',
    usage: 'GCE Instance Preemptibility',
  },
  {
    name: 'google-tags',
    kind: 'string',
    envVar: 'GOOGLE_TAGS',
    usage: 'GCE Instance Tags (comma-separated)',
  },
  {
    name: 'google-vm-labels',
    kind: 'stringSlice',
    envVar: 'GOOGLE_VM_LABELS',
    usage: 'GCE Instance labels, key:value or key=value (comma-separated or repeated)',
  },
  {
    name: 'google-label',
    kind: 'stringSlice',
    envVar: 'GOOGLE_LABEL',
    usage: 'A label of the instance and its disk, key=value (repeatable)',
  },
  {
    name: 'google-metadata',
    kind: 'stringSlice',
    envVar: 'GOOGLE_METADATA',
    usage: 'A metadata item of the instance, key=value (repeatable)',
  },
  {
    name: 'google-metadata-from-file',
    kind: 'stringSlice',
    envVar: 'GOOGLE_METADATA_FROM_FILE',
    usage: 'A metadata item of the instance whose value is read from a file, key=path (repeatable)',
  },
  {
    name: 'google-userdata',
    kind: 'string',
    envVar: 'GOOGLE_USERDATA',
    usage: "A user-data file for cloud-init (the instance's user-data metadata item)",
  },
  {
    name: 'google-accelerator',
    kind: 'string',
    envVar: 'GOOGLE_ACCELERATOR',
    usage:
      'GPUs to attach: type=TYPE,count=N (e.g. type=nvidia-tesla-t4,count=1); forces --google-maintenance-policy TERMINATE',
  },
  {
    name: 'google-min-cpu-platform',
    kind: 'string',
    envVar: 'GOOGLE_MIN_CPU_PLATFORM',
    usage: 'The minimum CPU platform of the instance (e.g. "Intel Skylake")',
  },
  {
    name: 'google-maintenance-policy',
    kind: 'string',
    envVar: 'GOOGLE_MAINTENANCE_POLICY',
    default: 'MIGRATE',
    usage: 'What the instance does on host maintenance: MIGRATE or TERMINATE',
  },
  {
    name: 'google-use-internal-ip',
    kind: 'bool',
    envVar: 'GOOGLE_USE_INTERNAL_IP',
    usage: 'Use internal GCE Instance IP rather than public one',
  },
  {
    name: 'google-use-internal-ip-only',
    kind: 'bool',
    envVar: 'GOOGLE_USE_INTERNAL_IP_ONLY',
    usage: 'Configure GCE instance to not have an external IP address',
  },
  {
    name: 'google-use-existing',
    kind: 'bool',
    envVar: 'GOOGLE_USE_EXISTING',
    usage: "Don't create a new VM, use an existing one",
  },
  {
    name: 'google-skip-firewall-create',
    kind: 'bool',
    envVar: 'GOOGLE_SKIP_FIREWALL_CREATE',
    usage: 'Make and change no firewall rule (the network must already let the engine port in)',
  },
  {
    name: 'google-external-firewall-rule-prefix',
    kind: 'string',
    envVar: 'GOOGLE_EXTERNAL_FIREWALL_RULE_PREFIX',
    usage:
      'Open the engine, swarm and --google-open-port ports in a rule of this machine alone, PREFIX-MACHINE, instead of the shared docker-machines rule',
  },
  {
    name: 'google-internal-firewall-rule-prefix',
    kind: 'string',
    envVar: 'GOOGLE_INTERNAL_FIREWALL_RULE_PREFIX',
    usage:
      'Also make a rule PREFIX-MACHINE letting every instance tagged docker-machine reach this one on any port',
  },
  {
    name: 'google-open-port',
    kind: 'stringSlice',
    usage: 'Make the specified port number accessible from the Internet, PORT[/tcp|/udp] or FROM-TO[/PROTO]',
  },
  {
    name: 'google-endpoint',
    kind: 'string',
    envVar: 'GOOGLE_COMPUTE_ENDPOINT',
    default: DEFAULT_ENDPOINT,
    usage: 'Compute Engine API endpoint, for a proxy, a private endpoint or a test fake',
  },
];
