import type { FlagDef } from '../../flags/def.js';

/**
 * The original's vmwarevsphere flags (spec §7.8), the ones Rancher's rewrite added that this
 * driver keeps (creation type, clone source, content library, cloud-config, datastore cluster,
 * guest OS, SSH user and port, graceful shutdown), and this port's own: certificate trust and the
 * bound on waiting for the VM's address.
 */

export const CREATION_TYPES = ['vm', 'template', 'library', 'legacy'] as const;
export type CreationType = (typeof CREATION_TYPES)[number];

export const flags: FlagDef[] = [
  {
    name: 'vmwarevsphere-cpu-count',
    kind: 'int',
    envVar: 'VSPHERE_CPU_COUNT',
    default: 2,
    usage: 'vSphere CPU number for docker VM',
  },
  {
    name: 'vmwarevsphere-memory-size',
    kind: 'int',
    envVar: 'VSPHERE_MEMORY_SIZE',
    default: 2048,
    usage: 'vSphere size of memory for docker VM (in MB)',
  },
  {
    name: 'vmwarevsphere-disk-size',
    kind: 'int',
    envVar: 'VSPHERE_DISK_SIZE',
    default: 20480,
    usage: "vSphere size of disk for docker VM (in MB); a clone's disk grows to it, never shrinks",
  },
  {
    name: 'vmwarevsphere-boot2docker-url',
    kind: 'string',
    envVar: 'VSPHERE_BOOT2DOCKER_URL',
    usage:
      'legacy creation: the boot ISO (a path or an http(s) URL; boot2docker is gone, give a live ISO that runs cloud-init)',
  },
  {
    name: 'vmwarevsphere-vcenter',
    kind: 'string',
    envVar: 'VSPHERE_VCENTER',
    usage: 'vSphere IP/hostname for vCenter (or ESXi)',
  },
  {
    name: 'vmwarevsphere-vcenter-port',
    kind: 'int',
    envVar: 'VSPHERE_VCENTER_PORT',
    default: 443,
    usage: 'vSphere Port for vCenter',
  },
  { name: 'vmwarevsphere-username', kind: 'string', envVar: 'VSPHERE_USERNAME', usage: 'vSphere username' },
  { name: 'vmwarevsphere-password', kind: 'string', envVar: 'VSPHERE_PASSWORD', usage: 'vSphere password' },
  {
    name: 'vmwarevsphere-network',
    kind: 'stringSlice',
    envVar: 'VSPHERE_NETWORK',
    usage:
      'vSphere network where the docker VM will be attached (default "VM Network"; a clone keeps its own NICs when none is given)',
  },
  {
    name: 'vmwarevsphere-datastore',
    kind: 'string',
    envVar: 'VSPHERE_DATASTORE',
    usage: 'vSphere datastore for docker VM (default: the only one there is)',
  },
  {
    name: 'vmwarevsphere-datastore-cluster',
    kind: 'string',
    envVar: 'VSPHERE_DATASTORE_CLUSTER',
    usage: 'vSphere datastore cluster (storage pod) for the VM: its first datastore with the most free space',
  },
  {
    name: 'vmwarevsphere-datacenter',
    kind: 'string',
    envVar: 'VSPHERE_DATACENTER',
    usage: 'vSphere datacenter for docker VM (default: the only one there is)',
  },
  {
    name: 'vmwarevsphere-folder',
    kind: 'string',
    envVar: 'VSPHERE_FOLDER',
    usage: "vSphere folder for the docker VM, under the datacenter's VM folder",
  },
  {
    name: 'vmwarevsphere-pool',
    kind: 'string',
    envVar: 'VSPHERE_POOL',
    usage:
      "vSphere resource pool for docker VM (a path under the datacenter's host folder, e.g. cluster/Resources)",
  },
  {
    name: 'vmwarevsphere-hostsystem',
    kind: 'string',
    envVar: 'VSPHERE_HOSTSYSTEM',
    usage: 'vSphere compute resource where the docker VM will be instantiated (a host, or cluster/host)',
  },
  {
    name: 'vmwarevsphere-cfgparam',
    kind: 'stringSlice',
    envVar: 'VSPHERE_CFGPARAM',
    usage: 'vSphere vm configuration parameters (used for guestinfo), as key=value',
  },
  {
    name: 'vmwarevsphere-cloudinit',
    kind: 'string',
    envVar: 'VSPHERE_CLOUDINIT',
    usage: 'vSphere cloud-init file or url to set in the guestinfo (guestinfo.cloud-init.config.*)',
  },
  {
    name: 'vmwarevsphere-creation-type',
    kind: 'string',
    envVar: 'VSPHERE_CREATION_TYPE',
    usage:
      'how the VM is made: template or vm (clone --vmwarevsphere-clone-from), library (deploy a content-library item), legacy (a new VM booting --vmwarevsphere-boot2docker-url); default template with --vmwarevsphere-clone-from, else legacy',
  },
  {
    name: 'vmwarevsphere-clone-from',
    kind: 'string',
    envVar: 'VSPHERE_CLONE_FROM',
    usage:
      "the template or VM to clone (its name, or its path under the datacenter's VM folder), or the content-library item",
  },
  {
    name: 'vmwarevsphere-content-library',
    kind: 'string',
    envVar: 'VSPHERE_CONTENT_LIBRARY',
    usage: 'the content library holding --vmwarevsphere-clone-from (creation type library)',
  },
  {
    name: 'vmwarevsphere-cloud-config',
    kind: 'string',
    envVar: 'VSPHERE_CLOUD_CONFIG',
    usage: "a cloud-config file given to cloud-init with the machine's own (guestinfo.userdata)",
  },
  {
    name: 'vmwarevsphere-os',
    kind: 'string',
    envVar: 'VSPHERE_OS',
    default: 'linux',
    usage: 'the guest OS: linux (guest id otherLinux64Guest) or a vSphere guest id (debian12_64Guest)',
  },
  {
    name: 'vmwarevsphere-ssh-user',
    kind: 'string',
    envVar: 'VSPHERE_SSH_USER',
    default: 'docker',
    usage: "the user cloud-init makes with the machine's SSH key",
  },
  {
    name: 'vmwarevsphere-ssh-port',
    kind: 'int',
    envVar: 'VSPHERE_SSH_PORT',
    default: 22,
    usage: 'the SSH port of the machine',
  },
  {
    name: 'vmwarevsphere-graceful-shutdown-timeout',
    kind: 'int',
    envVar: 'VSPHERE_GRACEFUL_SHUTDOWN_TIMEOUT',
    default: 0,
    usage: 'seconds rm waits for a guest shutdown before powering the VM off (0: power off at once)',
  },
  {
    name: 'vmwarevsphere-ip-timeout',
    kind: 'int',
    envVar: 'VSPHERE_IP_TIMEOUT',
    default: 600,
    usage: "seconds to wait for VMware Tools to report the VM's address",
  },
  {
    name: 'vmwarevsphere-cacert',
    kind: 'string',
    envVar: 'VSPHERE_CACERT',
    usage: "a PEM file of the CA that signed vCenter's certificate (besides the system's)",
  },
  {
    name: 'vmwarevsphere-insecure',
    kind: 'bool',
    envVar: 'VSPHERE_INSECURE',
    usage: "do not verify vCenter's certificate (the original never did)",
  },
];
