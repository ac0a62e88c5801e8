import { goQuote, MachineError } from '../errors.js';
import type { DriverModule } from './driver.js';

interface DriverEntry {
  /** One line for help and the drivers table. */
  description: string;
  /** What it needs from the user or this computer, for the error when create has no driver. */
  needs: string;
  load(): Promise<DriverModule>;
}

/**
 * Driver modules load on demand so that light commands never pay for a driver they do not use
 * (the docker, qemu and cloud drivers pull in heavy code).
 */
const drivers: Record<string, DriverEntry> = {
  amazonec2: {
    description: 'an Amazon EC2 instance, reached as ubuntu over SSH at its public (or private) address',
    needs:
      'AWS credentials (--amazonec2-access-key and --amazonec2-secret-key, $AWS_ACCESS_KEY_ID, or a profile in ~/.aws/credentials)',
    load: async () => (await import('./amazonec2/index.js')).amazonec2Driver,
  },
  azure: {
    description:
      'an Azure virtual machine with a managed disk, reached as docker-user over SSH at its public (or private) address',
    needs:
      'an Azure subscription (--azure-subscription-id, $AZURE_SUBSCRIPTION_ID) and a sign-in (a service principal, az login, or the device code)',
    load: async () => (await import('./azure/index.js')).azureDriver,
  },
  digitalocean: {
    description: 'a DigitalOcean droplet, reached as root over SSH at its public IPv4',
    needs:
      'a DigitalOcean API token (--digitalocean-access-token, $DIGITALOCEAN_ACCESS_TOKEN, or doctl auth init)',
    load: async () => (await import('./digitalocean/index.js')).digitaloceanDriver,
  },
  docker: {
    description: 'a container on a local Docker engine, running systemd, sshd and its own Docker engine',
    needs: 'a Docker engine (--docker-host, $DOCKER_HOST)',
    load: async () => (await import('./docker/index.js')).dockerDriver,
  },
  exoscale: {
    description: 'an Exoscale Compute instance (v2 API), reached over SSH at its public IPv4',
    needs:
      'an Exoscale API key and secret (--exoscale-api-key and --exoscale-api-secret-key, or $EXOSCALE_API_KEY and $EXOSCALE_API_SECRET)',
    load: async () => (await import('./exoscale/index.js')).exoscaleDriver,
  },
  generic: {
    description: 'an existing Linux server reached by SSH, made into a TLS-secured Docker host',
    needs: 'a Linux server reached by SSH (--generic-ip-address)',
    load: async () => (await import('./generic/index.js')).genericDriver,
  },
  hyperv: {
    description:
      'a local Hyper-V VM (Windows) from a Debian image, on a virtual switch, reached at the address Hyper-V reports',
    needs: 'Windows with Hyper-V and its PowerShell module, run by a Hyper-V Administrator',
    load: async () => (await import('./hyperv/index.js')).hypervDriver,
  },
  openstack: {
    description:
      'an OpenStack server (Keystone v3, Nova, Neutron), reached as root over SSH at its fixed or floating address',
    needs:
      'OpenStack credentials (--openstack-auth-url with a user and password or an application credential, $OS_AUTH_URL, or a clouds.yaml entry with --openstack-cloud or $OS_CLOUD)',
    load: async () => (await import('./openstack/index.js')).openstackDriver,
  },
  qemu: {
    description:
      'a local virtual machine under QEMU (KVM, HVF or software emulation) from a cloud or built image',
    needs: 'QEMU (qemu-system-x86_64 or qemu-system-aarch64, and qemu-img)',
    load: async () => (await import('./qemu/index.js')).qemuDriver,
  },
  google: {
    description:
      'a Google Compute Engine instance, reached as docker-user over SSH at its external (or internal) address',
    needs:
      'a Google Cloud project (--google-project, $GOOGLE_PROJECT) and credentials ($GOOGLE_APPLICATION_CREDENTIALS, --google-auth-encoded-json, or gcloud auth application-default login)',
    load: async () => (await import('./google/index.js')).googleDriver,
  },
  hetzner: {
    description: 'a Hetzner Cloud server, reached as root over SSH at its public IPv4',
    needs:
      'a Hetzner Cloud API token (--hetzner-api-token, $HETZNER_API_TOKEN, $HCLOUD_TOKEN, or hcloud context create)',
    load: async () => (await import('./hetzner/index.js')).hetznerDriver,
  },
  rackspace: {
    description:
      'a Rackspace cloud server (OpenStack with Rackspace identity), reached as root over SSH at its public IPv4',
    needs:
      'a Rackspace user name and API key (--rackspace-username and --rackspace-api-key, or $OS_USERNAME and $OS_API_KEY)',
    load: async () => (await import('./rackspace/index.js')).rackspaceDriver,
  },
  virtualbox: {
    description:
      'a local VirtualBox VM from a Debian image, on a host-only network, reached through ports forwarded on 127.0.0.1',
    needs: 'VirtualBox (VBoxManage on the PATH)',
    load: async () => (await import('./virtualbox/index.js')).virtualboxDriver,
  },
  vmwarevsphere: {
    description:
      'a VM on vCenter or ESXi, cloned from a cloud-init template (or booting an ISO), reached over SSH at the address VMware Tools report',
    needs:
      'a vCenter or ESXi (--vmwarevsphere-vcenter, $VSPHERE_VCENTER) and its user name and password (--vmwarevsphere-username and --vmwarevsphere-password)',
    load: async () => (await import('./vmwarevsphere/index.js')).vmwarevsphereDriver,
  },
  none: {
    description: 'an existing Docker engine, reached by its URL; nothing is created or provisioned',
    needs: "a running engine's URL (--url)",
    load: async () => (await import('./none/index.js')).noneDriver,
  },
};

export function driverNames(): string[] {
  return Object.keys(drivers).sort();
}

export function hasDriver(name: string): boolean {
  return Object.hasOwn(drivers, name);
}

/**
 * The drivers of the original whose service or product is gone (./retired): known, never
 * created. Their module (messages, flag tables) is read only when one is asked for; a test keeps
 * this list and the module's the same.
 */
export const RETIRED_DRIVER_NAMES: readonly string[] = ['softlayer', 'vmwarefusion', 'vmwarevcloudair'];

export function isRetiredDriver(name: string): boolean {
  return RETIRED_DRIVER_NAMES.includes(name);
}

export function driverDescription(name: string): string {
  return hasDriver(name) ? drivers[name].description : '';
}

export function driverNeeds(name: string): string {
  return hasDriver(name) ? drivers[name].needs : '';
}

export async function loadDriver(name: string): Promise<DriverModule> {
  if (isRetiredDriver(name)) return (await import('./retired/index.js')).retiredModule(name);
  if (!hasDriver(name)) throw new DriverNotFoundError(name);
  return drivers[name].load();
}

export class DriverNotFoundError extends MachineError {
  readonly driverName: string;
  constructor(name: string) {
    // Names are case-sensitive, as the original's plugin names were: say so when only case differs.
    const near = driverNames().find((n) => n === name.toLowerCase());
    super(
      `Driver ${goQuote(name)} not found${near ? ` (driver names are lower case: did you mean "${near}"?)` : ''}. Available drivers: ${driverNames().join(', ')}. Run 'docker-machine create --help' to see them.`,
    );
    this.driverName = name;
  }
}
