import { CLOUDS } from './arm-catalog.js';
import { subnetsUsingNsg, subnetUsers, vmOfNic } from './arm-links.js';
import {
  type AsData,
  DEFAULT_RULES,
  type DiskData,
  type NicData,
  type NsgData,
  type Obj,
  type PipData,
  type Res,
  type RuleData,
  type SubnetData,
  same,
  type VmData,
  type VnetData,
  type World,
} from './arm-state.js';

/** Resources as ARM shows them: what a GET answers, with what other resources say about them. */

export function render(w: World, r: Res, instanceView = false): Obj {
  const o: Obj = { id: r.id, name: r.name, type: r.info.type, location: r.location };
  if (r.tags) o.tags = r.tags;
  if (r.info.ns === 'Microsoft.Network') o.etag = r.etag;
  switch (r.kind) {
    case 'vnet':
      o.properties = vnetProps(w, r);
      break;
    case 'nsg':
      o.properties = nsgProps(w, r);
      break;
    case 'pip':
      return pipBody(w, r, o);
    case 'nic':
      o.properties = nicProps(w, r);
      break;
    case 'as':
      return asBody(w, r, o);
    case 'disk':
      return diskBody(w, r, o);
    case 'vm':
      return vmBody(w, r, o, instanceView);
  }
  return o;
}

export function vnetProps(w: World, r: Res): Obj {
  const d = r.data as VnetData;
  return {
    provisioningState: r.state,
    resourceGuid: r.guid,
    addressSpace: { addressPrefixes: d.prefixes },
    subnets: d.subnets.map((s) => subnetBody(w, r, s)),
    virtualNetworkPeerings: [],
    enableDdosProtection: false,
  };
}

export function subnetBody(w: World, vnet: Res, s: SubnetData): Obj {
  const props: Obj = {
    provisioningState: vnet.state === 'Succeeded' ? s.state : vnet.state,
    addressPrefix: s.prefix,
    privateEndpointNetworkPolicies: 'Disabled',
    privateLinkServiceNetworkPolicies: 'Enabled',
    delegations: [],
  };
  if (s.nsg) props.networkSecurityGroup = { id: s.nsg };
  const users = subnetUsers(w, vnet, s.name);
  if (users.length) props.ipConfigurations = users.map((id) => ({ id }));
  return {
    id: `${vnet.id}/subnets/${s.name}`,
    name: s.name,
    etag: s.etag,
    type: 'Microsoft.Network/virtualNetworks/subnets',
    properties: props,
  };
}

export function nsgProps(w: World, r: Res): Obj {
  const d = r.data as NsgData;
  const nics = [...w.items.values()].filter(
    (x) => x.kind === 'nic' && !!(x.data as NicData).nsg && same((x.data as NicData).nsg!, r.id),
  );
  const subnets = subnetsUsingNsg(w, r.id);
  const props: Obj = {
    provisioningState: r.state,
    resourceGuid: r.guid,
    securityRules: d.rules.map((rule) => ruleBody(r, rule)),
    defaultSecurityRules: DEFAULT_RULES.map(([name, direction, src, dst, access, priority]) => ({
      id: `${r.id}/defaultSecurityRules/${name}`,
      name,
      etag: r.etag,
      type: 'Microsoft.Network/networkSecurityGroups/defaultSecurityRules',
      properties: {
        provisioningState: 'Succeeded',
        description: `Default rule ${name}`,
        protocol: '*',
        sourcePortRange: '*',
        destinationPortRange: '*',
        sourceAddressPrefix: src,
        destinationAddressPrefix: dst,
        access,
        priority,
        direction,
        sourcePortRanges: [],
        destinationPortRanges: [],
        sourceAddressPrefixes: [],
        destinationAddressPrefixes: [],
      },
    })),
  };
  if (nics.length) props.networkInterfaces = nics.map((x) => ({ id: x.id }));
  if (subnets.length) props.subnets = subnets.map((id) => ({ id }));
  return props;
}

export function ruleBody(nsg: Res, rule: RuleData): Obj {
  return {
    id: `${nsg.id}/securityRules/${rule.name}`,
    name: rule.name,
    etag: rule.etag,
    type: 'Microsoft.Network/networkSecurityGroups/securityRules',
    properties: {
      ...rule.properties,
      provisioningState: nsg.state === 'Succeeded' ? 'Succeeded' : 'Updating',
    },
  };
}

export function pipBody(w: World, r: Res, o: Obj): Obj {
  const d = r.data as PipData;
  o.sku = { name: d.sku, tier: d.tier };
  if (r.zones) o.zones = r.zones;
  const props: Obj = {
    provisioningState: r.state,
    resourceGuid: r.guid,
    publicIPAddressVersion: d.version,
    publicIPAllocationMethod: d.method,
    idleTimeoutInMinutes: d.idle,
    ipTags: [],
  };
  if (d.ip) props.ipAddress = d.ip;
  if (d.label)
    props.dnsSettings = {
      domainNameLabel: d.label,
      fqdn: `${d.label}.${r.location}.${CLOUDS[w.opts.cloud].dnsSuffix}`,
    };
  const nic = [...w.items.values()].find(
    (x) => x.kind === 'nic' && (x.data as NicData).ipconfigs.some((c) => c.pip && same(c.pip, r.id)),
  );
  if (nic) {
    const c = (nic.data as NicData).ipconfigs.find((x) => x.pip && same(x.pip, r.id))!;
    props.ipConfiguration = { id: `${nic.id}/ipConfigurations/${c.name}` };
  }
  o.properties = props;
  return o;
}

export function nicProps(w: World, r: Res): Obj {
  const d = r.data as NicData;
  const vm = vmOfNic(w, r);
  const props: Obj = {
    provisioningState: r.state,
    resourceGuid: r.guid,
    ipConfigurations: d.ipconfigs.map((c) => {
      const cp: Obj = {
        provisioningState: r.state,
        privateIPAddress: c.ip,
        privateIPAllocationMethod: c.method,
        privateIPAddressVersion: 'IPv4',
        subnet: { id: c.subnet },
        primary: c.primary,
      };
      if (c.pip) cp.publicIPAddress = { id: c.pip };
      return {
        id: `${r.id}/ipConfigurations/${c.name}`,
        name: c.name,
        etag: r.etag,
        type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
        properties: cp,
      };
    }),
    dnsSettings: {
      dnsServers: [],
      appliedDnsServers: [],
      internalDomainNameSuffix: 'fake.internal.cloudapp.net',
    },
    enableAcceleratedNetworking: d.accel,
    enableIPForwarding: d.forwarding,
    vnetEncryptionSupported: false,
    disableTcpStateTracking: false,
    hostedWorkloads: [],
    tapConfigurations: [],
    nicType: 'Standard',
    auxiliaryMode: 'None',
  };
  if (d.nsg) props.networkSecurityGroup = { id: d.nsg };
  if (vm) {
    props.virtualMachine = { id: vm.id };
    props.primary = (vm.data as VmData).nics.findIndex((n) => same(n.id, r.id)) === 0;
  }
  if (d.mac) props.macAddress = d.mac;
  return props;
}

export function asBody(w: World, r: Res, o: Obj): Obj {
  const d = r.data as AsData;
  o.sku = { name: d.sku };
  const vms = [...w.items.values()].filter(
    (x) =>
      x.kind === 'vm' &&
      !!(x.data as VmData).availabilitySet &&
      same((x.data as VmData).availabilitySet!, r.id),
  );
  o.properties = {
    platformFaultDomainCount: d.faultDomains,
    platformUpdateDomainCount: d.updateDomains,
    virtualMachines: vms.map((x) => ({ id: x.id })),
  };
  return o;
}

export function diskBody(w: World, r: Res, o: Obj): Obj {
  const d = r.data as DiskData;
  o.sku = { name: d.sku, tier: d.sku.startsWith('Premium') ? 'Premium' : 'Standard' };
  if (d.managedBy) o.managedBy = d.managedBy;
  if (r.zones) o.zones = r.zones;
  const [publisher, offer, sku, version] = d.image.split(':');
  o.properties = {
    osType: 'Linux',
    hyperVGeneration: d.generation,
    creationData: {
      createOption: 'FromImage',
      imageReference: {
        id: `/Subscriptions/${w.opts.subscriptionId}/Providers/Microsoft.Compute/Locations/${r.location}/Publishers/${publisher}/ArtifactTypes/VMImage/Offers/${offer}/Skus/${sku}/Versions/${version}`,
      },
    },
    diskSizeGB: d.sizeGB,
    diskState: d.managedBy ? 'Attached' : 'Unattached',
    provisioningState: r.state,
    uniqueId: r.guid,
  };
  return o;
}

export function vmBody(w: World, r: Res, o: Obj, withView: boolean): Obj {
  const d = r.data as VmData;
  if (d.plan) o.plan = d.plan;
  if (r.zones) o.zones = r.zones;
  const disk = w.items.get(d.disk.toLowerCase());
  const dd = disk?.data as DiskData | undefined;
  const props: Obj = {
    vmId: d.vmId,
    hardwareProfile: { vmSize: d.size },
    storageProfile: {
      imageReference: { ...d.image },
      osDisk: {
        osType: 'Linux',
        name: d.disk.split('/').pop(),
        createOption: 'FromImage',
        caching: dd?.caching ?? 'ReadWrite',
        managedDisk: { storageAccountType: dd?.sku ?? 'Standard_LRS', id: d.disk },
        deleteOption: dd?.deleteOption ?? 'Detach',
        diskSizeGB: dd?.sizeGB ?? 30,
      },
      dataDisks: [],
      diskControllerType: 'SCSI',
    },
    osProfile: {
      computerName: d.computerName,
      adminUsername: d.adminUsername,
      linuxConfiguration: {
        disablePasswordAuthentication: d.disablePassword,
        ssh: { publicKeys: d.keys },
        provisionVMAgent: true,
        patchSettings: { patchMode: 'ImageDefault', assessmentMode: 'ImageDefault' },
        enableVMAgentPlatformUpdates: false,
      },
      secrets: [],
      allowExtensionOperations: true,
      requireGuestProvisionSignal: true,
    },
    networkProfile: {
      networkInterfaces: d.nics.map((n) => {
        const ref: Obj = { id: n.id };
        const p: Obj = {};
        if (n.primary !== undefined) p.primary = n.primary;
        if (n.deleteOption) p.deleteOption = n.deleteOption;
        if (Object.keys(p).length) ref.properties = p;
        return ref;
      }),
    },
    provisioningState: r.state,
    timeCreated: d.timeCreated,
  };
  if (d.availabilitySet) props.availabilitySet = { id: d.availabilitySet };
  if (withView) props.instanceView = instanceView(r);
  o.properties = props;
  return o;
}

export function instanceView(r: Res): Obj {
  const d = r.data as VmData;
  const now = new Date().toISOString();
  const displays: Record<string, string> = {
    running: 'VM running',
    stopped: 'VM stopped',
    deallocated: 'VM deallocated',
    starting: 'VM starting',
    stopping: 'VM stopping',
    deallocating: 'VM deallocating',
  };
  const prov =
    r.state === 'Succeeded'
      ? {
          code: 'ProvisioningState/succeeded',
          level: 'Info',
          displayStatus: 'Provisioning succeeded',
          time: now,
        }
      : r.state === 'Failed'
        ? {
            code: 'ProvisioningState/failed',
            level: 'Error',
            displayStatus: 'Provisioning failed',
            time: now,
          }
        : { code: `ProvisioningState/${r.state.toLowerCase()}`, level: 'Info', displayStatus: r.state };
  const statuses: Obj[] = [prov];
  if (r.state !== 'Creating' || d.power !== 'starting')
    statuses.push({
      code: `PowerState/${d.power}`,
      level: 'Info',
      displayStatus: displays[d.power] ?? d.power,
    });
  else statuses.push({ code: 'PowerState/starting', level: 'Info', displayStatus: 'VM starting' });
  const running = d.power === 'running';
  return {
    computerName: d.computerName,
    osName: 'ubuntu',
    osVersion: d.image.exactVersion.split('.').slice(0, 2).join('.'),
    hyperVGeneration: d.generation,
    vmAgent: {
      vmAgentVersion: running ? '2.12.0.2' : 'Unknown',
      statuses: running
        ? [
            {
              code: 'ProvisioningState/succeeded',
              level: 'Info',
              displayStatus: 'Ready',
              message: 'GuestAgent is running and processing the extensions.',
              time: now,
            },
          ]
        : [],
    },
    disks: [
      {
        name: d.disk.split('/').pop(),
        statuses: [
          {
            code: 'ProvisioningState/succeeded',
            level: 'Info',
            displayStatus: 'Provisioning succeeded',
            time: now,
          },
        ],
      },
    ],
    statuses,
  };
}
