import { intRange, matching } from '../../flags/checks.js';
import type { FlagDef } from '../../flags/def.js';

/** The original's flags and variables, with its defaults, and the image flags the qemu driver has. */
export const hypervFlags: FlagDef[] = [
  {
    name: 'hyperv-boot2docker-url',
    kind: 'string',
    envVar: 'HYPERV_BOOT2DOCKER_URL',
    usage: 'Ignored: boot2docker is gone; the machine boots a Debian image (--hyperv-image)',
  },
  {
    name: 'hyperv-virtual-switch',
    kind: 'string',
    envVar: 'HYPERV_VIRTUAL_SWITCH',
    usage: 'Virtual switch name (default: the first External one)',
  },
  {
    name: 'hyperv-disk-size',
    kind: 'int',
    default: 20000,
    envVar: 'HYPERV_DISK_SIZE',
    usage: 'Maximum size of dynamically expanding disk in MB',
    check: intRange(1024, 64 * 1024 * 1024, 'MB of disk'),
  },
  {
    name: 'hyperv-memory',
    kind: 'int',
    default: 1024,
    envVar: 'HYPERV_MEMORY',
    usage: 'Memory size for host in MB',
    check: intRange(256, 12 * 1024 * 1024, 'MB of memory (at least 256: the Debian image needs it)'),
  },
  {
    name: 'hyperv-cpu-count',
    kind: 'int',
    default: 1,
    envVar: 'HYPERV_CPU_COUNT',
    usage: 'number of CPUs for the machine',
    check: intRange(1, 240, 'a number of CPUs'),
  },
  {
    name: 'hyperv-static-macaddress',
    kind: 'string',
    envVar: 'HYPERV_STATIC_MACADDRESS',
    usage: 'Hyper-V network adapter static MAC address',
    check: (v) =>
      v === '' || (typeof v === 'string' && /^[0-9A-Fa-f]{2}([-:]?[0-9A-Fa-f]{2}){5}$/.test(v))
        ? undefined
        : 'a MAC address, like 00155D012345 or 00-15-5D-01-23-45',
  },
  {
    name: 'hyperv-vlan-id',
    kind: 'int',
    default: 0,
    envVar: 'HYPERV_VLAN_ID',
    usage: 'Hyper-V network adapter VLAN ID if any',
    check: intRange(1, 4094, 'a VLAN ID', 'no VLAN'),
  },
  {
    name: 'hyperv-disable-dynamic-memory',
    kind: 'bool',
    envVar: 'HYPERV_DISABLE_DYNAMIC_MEMORY',
    usage: 'Disable dynamic memory management setting',
  },
  {
    name: 'hyperv-image',
    kind: 'string',
    envVar: 'MACHINE_HYPERV_IMAGE',
    usage:
      "Path or URL of a cloud image with its own boot loader (default: Debian 12's generic cloud image, as the qemu driver's --qemu-image)",
    check: matching(
      /^(?!build$)/,
      "a path or URL of an image with a boot loader ('build' makes one without)",
    ),
  },
];
