import { randomBytes } from 'node:crypto';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { DriverJSON } from '../../store/host.js';
import { CREATION_TYPES, type CreationType } from './flags.js';

/**
 * The machine's fields from its create flags, each checked: a wrong one is one line naming the
 * flag. govc's GOVC_URL form of --vmwarevsphere-vcenter is taken too.
 */
export function settingsFromFlags(p: ParsedFlags): DriverJSON {
  let vcenter = flagString(p, 'vmwarevsphere-vcenter');
  let port = flagInt(p, 'vmwarevsphere-vcenter-port');
  // govc's GOVC_URL form (https://host[:port]/sdk) is taken as the host and port it names.
  if (/^https?:\/\//i.test(vcenter)) {
    try {
      const u = new URL(vcenter);
      vcenter = u.hostname.replace(/^\[|\]$/g, '');
      if (u.port && !p.explicit.has('vmwarevsphere-vcenter-port')) port = Number(u.port);
    } catch {
      throw new MachineError(`--vmwarevsphere-vcenter ${vcenter}: give a host name or address`);
    }
  }
  if (!vcenter)
    throw new MachineError('vSphere URL is missing: give --vmwarevsphere-vcenter HOST (or $VSPHERE_VCENTER)');
  const user = flagString(p, 'vmwarevsphere-username');
  const password = flagString(p, 'vmwarevsphere-password');
  if (!user || !password)
    throw new MachineError(
      'vSphere username or password is missing: give --vmwarevsphere-username and --vmwarevsphere-password (or $VSPHERE_USERNAME and $VSPHERE_PASSWORD)',
    );
  const from = flagString(p, 'vmwarevsphere-clone-from');
  const given = flagString(p, 'vmwarevsphere-creation-type');
  const type = (given || (from ? 'template' : 'legacy')) as CreationType;
  if (!CREATION_TYPES.includes(type))
    throw new MachineError(
      `--vmwarevsphere-creation-type ${given}: give one of ${CREATION_TYPES.join(', ')}`,
    );
  if (type === 'legacy' && from)
    throw new MachineError(
      '--vmwarevsphere-clone-from needs --vmwarevsphere-creation-type template, vm or library, not legacy',
    );
  for (const [flag, min] of [
    ['vmwarevsphere-cpu-count', 1],
    ['vmwarevsphere-memory-size', 4],
    ['vmwarevsphere-disk-size', 1],
    ['vmwarevsphere-vcenter-port', 1],
    ['vmwarevsphere-ssh-port', 1],
    ['vmwarevsphere-ip-timeout', 1],
  ] as const) {
    if (flagInt(p, flag) < min) throw new MachineError(`--${flag} ${flagInt(p, flag)}: give at least ${min}`);
  }
  const cfg = flagSlice(p, 'vmwarevsphere-cfgparam');
  const bad = cfg.find((kv) => !/^[A-Za-z0-9_.:-]+=/.test(kv));
  if (bad) throw new MachineError(`--vmwarevsphere-cfgparam ${bad}: give key=value`);
  return {
    SSHUser: flagString(p, 'vmwarevsphere-ssh-user') || 'docker',
    SSHPort: flagInt(p, 'vmwarevsphere-ssh-port') || 22,
    CPU: flagInt(p, 'vmwarevsphere-cpu-count'),
    Memory: flagInt(p, 'vmwarevsphere-memory-size'),
    DiskSize: flagInt(p, 'vmwarevsphere-disk-size'),
    Boot2DockerURL: flagString(p, 'vmwarevsphere-boot2docker-url'),
    IP: vcenter,
    Port: port,
    Username: user,
    Password: password,
    Network: flagSlice(p, 'vmwarevsphere-network'),
    Datastore: flagString(p, 'vmwarevsphere-datastore'),
    DatastoreCluster: flagString(p, 'vmwarevsphere-datastore-cluster'),
    Datacenter: flagString(p, 'vmwarevsphere-datacenter'),
    Folder: flagString(p, 'vmwarevsphere-folder'),
    Pool: flagString(p, 'vmwarevsphere-pool'),
    HostSystem: flagString(p, 'vmwarevsphere-hostsystem'),
    CfgParams: cfg,
    CloudInit: flagString(p, 'vmwarevsphere-cloudinit'),
    CreationType: type,
    CloneFrom: from,
    ContentLibrary: flagString(p, 'vmwarevsphere-content-library'),
    CloudConfig: flagString(p, 'vmwarevsphere-cloud-config'),
    OS: flagString(p, 'vmwarevsphere-os'),
    GracefulShutdownTimeout: flagInt(p, 'vmwarevsphere-graceful-shutdown-timeout'),
    IPTimeout: flagInt(p, 'vmwarevsphere-ip-timeout'),
    CACert: flagString(p, 'vmwarevsphere-cacert'),
    Insecure: flagBool(p, 'vmwarevsphere-insecure'),
    EnginePort: 2376,
    MachineID: randomBytes(5).toString('hex'),
    VMRef: '',
    Ledger: [],
  };
}
