import { randomUUID } from 'node:crypto';
import {
  CLOUDS,
  cidrContains,
  cidrsOverlap,
  ipInCidr,
  parseCidr,
  parseIp,
  type Region,
  VM_SIZES,
  type VmSize,
} from './arm-catalog.js';
import { subnetFree, subnetUsers, vmOfNic } from './arm-links.js';
import {
  ArmError,
  DNS_LABEL,
  type IpConfig,
  type Kind,
  type NicData,
  type NsgData,
  type Obj,
  type PipData,
  RESOURCE_NAME,
  type Res,
  type RuleData,
  type SubnetData,
  same,
  type VmData,
  type VnetData,
  type World,
} from './arm-state.js';

/**
 * Network resources as the Network provider checks them: each `prepare*` refuses a body as ARM
 * would, or answers the change to make, so that a refused PUT leaves nothing behind.
 */

export function prepareVnet(w: World, body: Obj, r: Res, existing: Res | undefined): () => void {
  const props = (body.properties ?? {}) as Obj;
  const space = (props.addressSpace ?? {}) as Obj;
  const prefixes = Array.isArray(space.addressPrefixes) ? (space.addressPrefixes as unknown[]) : [];
  if (prefixes.length === 0)
    throw new ArmError(
      400,
      'VnetAddressSpaceMustHaveAtLeastOneAddressPrefix',
      `Virtual network ${r.id} must have at least one address prefix.`,
    );
  const cidrs = prefixes.map((p) => {
    const c = parseCidr(p);
    if (!c) throw badPrefix(String(p), r.id);
    return c;
  });
  const wanted = Array.isArray(props.subnets) ? (props.subnets as Obj[]) : [];
  const subnets: SubnetData[] = [];
  for (const s of wanted) {
    const name = String(s.name ?? '');
    const sp = (s.properties ?? {}) as Obj;
    const old = existing ? (existing.data as VnetData).subnets.find((x) => same(x.name, name)) : undefined;
    subnets.push(checkSubnet(w, r, name, sp, cidrs, subnets, old, r.id));
  }
  // A vnet PUT without a subnet deletes it: refused while something uses it.
  for (const old of existing ? (existing.data as VnetData).subnets : [])
    if (!subnets.some((s) => same(s.name, old.name))) subnetFree(w, existing!, old);
  return () => {
    r.data = { prefixes: prefixes.map(String), subnets } satisfies VnetData;
  };
}

export function badPrefix(p: string, id: string): ArmError {
  return new ArmError(
    400,
    'InvalidAddressPrefixFormat',
    `Address prefix ${p} of resource ${id} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.`,
  );
}

export function checkSubnet(
  w: World,
  vnet: Res,
  name: string,
  sp: Obj,
  space: { base: number; bits: number }[],
  siblings: SubnetData[],
  old: SubnetData | undefined,
  vnetId: string,
): SubnetData {
  if (!RESOURCE_NAME.test(name))
    throw new ArmError(400, 'InvalidResourceName', `Resource name ${name} is invalid.`);
  const prefix = sp.addressPrefix ?? (Array.isArray(sp.addressPrefixes) ? sp.addressPrefixes[0] : undefined);
  if (prefix === undefined)
    throw new ArmError(
      400,
      'NoAddressPrefixOrPoolProvided',
      `Subnet ${name} of virtual network ${vnetId} has neither an address prefix nor an IP address pool.`,
    );
  const c = parseCidr(prefix);
  if (!c) throw badPrefix(String(prefix), `${vnetId}/subnets/${name}`);
  if (!space.some((s) => cidrContains(s, c)))
    throw new ArmError(
      400,
      'NetcfgSubnetRangeOutsideVnet',
      `Subnet '${name}' is not valid because its IP address range is outside the IP address range of virtual network '${vnetId.split('/').pop()}'.`,
    );
  for (const other of siblings) {
    if (same(other.name, name)) continue;
    if (cidrsOverlap(parseCidr(other.prefix)!, c))
      throw new ArmError(
        400,
        'NetcfgSubnetRangesOverlap',
        `Subnet '${name}' is not valid in virtual network '${vnetId.split('/').pop()}' because its IP address range overlaps with that of an existing subnet '${other.name}'.`,
      );
  }
  if (old && old.prefix !== prefix && subnetUsers(w, vnet, old.name).length)
    throw new ArmError(
      400,
      'InUseSubnetCannotBeUpdated',
      `Subnet ${name} is in use and cannot be updated. In order to update the subnet, delete all the resources within the subnet.`,
    );
  const nsg = (sp.networkSecurityGroup as Obj | undefined)?.id;
  if (nsg !== undefined) reference(w, String(nsg), 'nsg', `${vnetId}/subnets/${name}`, vnet.location);
  return {
    name: old?.name ?? name,
    prefix: String(prefix),
    nsg: nsg === undefined ? undefined : String(nsg),
    state: 'Updating',
    etag: `W/"${randomUUID()}"`,
  };
}

/** A reference to another resource: it must exist, and (for network ones) be in the same region. */
export function reference(w: World, id: string, kind: Kind, from: string, location: string): Res {
  const r = w.items.get(id.toLowerCase());
  if (!r || r.kind !== kind || (r.location !== location && kind !== 'as'))
    throw new ArmError(
      400,
      'InvalidResourceReference',
      `Resource ${id} referenced by resource ${from} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
    );
  return r;
}

export function subnetRef(
  w: World,
  id: string,
  from: string,
  location: string,
): { vnet: Res; subnet: SubnetData } {
  const m = /^(.*)\/subnets\/([^/]+)$/i.exec(id);
  const vnet = m ? w.items.get(m[1].toLowerCase()) : undefined;
  const subnet =
    vnet?.kind === 'vnet' ? (vnet.data as VnetData).subnets.find((s) => same(s.name, m![2])) : undefined;
  if (!vnet || !subnet || vnet.location !== location)
    throw new ArmError(
      400,
      'InvalidResourceReference',
      `Resource ${id} referenced by resource ${from} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
    );
  return { vnet, subnet };
}

export function prepareNsg(body: Obj, r: Res): () => void {
  const props = (body.properties ?? {}) as Obj;
  const rules = Array.isArray(props.securityRules) ? (props.securityRules as Obj[]) : [];
  const out = rules.map((rule) => checkRule(r, rule, rules));
  return () => {
    r.data = { rules: out } satisfies NsgData;
  };
}

const SERVICE_TAGS = ['VirtualNetwork', 'Internet', 'AzureLoadBalancer'];

export function checkRule(nsg: Res, rule: Obj, all: Obj[]): RuleData {
  const name = String(rule.name ?? '');
  const p = { ...((rule.properties ?? {}) as Obj) };
  const priority = Number(p.priority);
  if (!Number.isInteger(priority) || priority < 100 || priority > 4096)
    throw new ArmError(
      400,
      'SecurityRuleInvalidPriority',
      `Security rule ${name} has invalid Priority. Value provided: ${p.priority} Allowed range 100-4096.`,
    );
  for (const [field, allowed] of [
    ['protocol', ['Tcp', 'Udp', 'Icmp', 'Esp', '*', 'Ah']],
    ['access', ['Allow', 'Deny']],
    ['direction', ['Inbound', 'Outbound']],
  ] as const) {
    if (!(allowed as readonly unknown[]).includes(p[field]))
      throw new ArmError(
        400,
        'SecurityRuleParameterContainsUnsupportedValue',
        `Security rule parameter ${field[0].toUpperCase()}${field.slice(1)} for rule with Id ${nsg.id}/securityRules/${name} cannot be '${p[field] ?? ''}'. Allowed values are ${allowed.join(', ')}.`,
      );
  }
  const clash = all.find(
    (o) =>
      o !== undefined &&
      String(o.name) !== name &&
      Number((o.properties as Obj | undefined)?.priority) === priority &&
      (o.properties as Obj | undefined)?.direction === p.direction,
  );
  if (clash)
    throw new ArmError(
      400,
      'SecurityRuleConflict',
      `Security rule ${name} conflicts with rule ${clash.name}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.`,
    );
  for (const [one, many] of [
    ['sourcePortRange', 'sourcePortRanges'],
    ['destinationPortRange', 'destinationPortRanges'],
    ['sourceAddressPrefix', 'sourceAddressPrefixes'],
    ['destinationAddressPrefix', 'destinationAddressPrefixes'],
  ]) {
    const hasMany = Array.isArray(p[many]) && (p[many] as unknown[]).length > 0;
    if (p[one] === undefined && !hasMany)
      throw new ArmError(
        400,
        'SecurityRuleParameterMissing',
        `Security rule ${nsg.id}/securityRules/${name} is missing ${one} or ${many}.`,
      );
    if (!hasMany) p[many] = [];
  }
  // An address prefix is '*', an IPv4 address or CIDR, or a service tag (a few of the common ones).
  for (const field of ['sourceAddressPrefix', 'destinationAddressPrefix']) {
    const v = p[field];
    if (v === undefined) continue;
    if (
      typeof v !== 'string' ||
      !(v === '*' || /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(v) || SERVICE_TAGS.includes(v))
    )
      throw new ArmError(
        400,
        'SecurityRuleInvalidAddressPrefix',
        `Security rule ${nsg.id}/securityRules/${name} has invalid Address prefix. Value provided: ${String(v)}`,
      );
  }
  p.provisioningState = 'Succeeded';
  return { name, etag: `W/"${randomUUID()}"`, properties: p };
}

export function preparePip(
  w: World,
  body: Obj,
  r: Res,
  region: Region,
  existing: Res | undefined,
): () => void {
  const props = (body.properties ?? {}) as Obj;
  const sku = (body.sku ?? {}) as Obj;
  const skuName = String(sku.name ?? 'Basic');
  if (skuName !== 'Basic' && skuName !== 'Standard')
    throw new ArmError(400, 'InvalidPublicIpSku', `Public IP address SKU '${skuName}' is not valid.`);
  const method = String(props.publicIPAllocationMethod ?? (skuName === 'Standard' ? 'Static' : 'Dynamic'));
  if (method !== 'Static' && method !== 'Dynamic')
    throw new ArmError(
      400,
      'InvalidRequestFormat',
      `Cannot parse the request: publicIPAllocationMethod '${method}' is neither Static nor Dynamic.`,
    );
  if (skuName === 'Standard' && method !== 'Static')
    throw new ArmError(
      400,
      'StandardSkuPublicIPAddressesMustBeStatic',
      `Standard sku publicIp ${r.id} must be allocated using Static allocation method.`,
    );
  const dns = (props.dnsSettings ?? {}) as Obj;
  const label = dns.domainNameLabel === undefined ? undefined : String(dns.domainNameLabel);
  if (label !== undefined) {
    if (!DNS_LABEL.test(label))
      throw new ArmError(
        400,
        'InvalidDomainNameLabel',
        `The domain name label ${label} is invalid. It must conform to the following regular expression: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$.`,
      );
    const taken = [...w.items.values()].find(
      (x) =>
        x.kind === 'pip' &&
        x !== existing &&
        x.location === region.name &&
        (x.data as PipData).label === label,
    );
    if (taken)
      throw new ArmError(
        400,
        'DnsRecordInUse',
        `DNS record ${label}.${region.name}.${CLOUDS[w.opts.cloud].dnsSuffix} is already used by another public IP.`,
      );
  }
  const idle = props.idleTimeoutInMinutes === undefined ? 4 : Number(props.idleTimeoutInMinutes);
  if (!Number.isInteger(idle) || idle < 4 || idle > 30)
    throw new ArmError(
      400,
      'PublicIPIdleTimeoutIsOutOfRange',
      `The idle timeout of public IP ${r.id} is ${props.idleTimeoutInMinutes}; it must be between 4 and 30 minutes.`,
    );
  const zones = checkZones(body, r, region);
  return () => {
    const old = existing?.data as PipData | undefined;
    r.zones = zones;
    r.data = {
      sku: skuName,
      tier: String(sku.tier ?? 'Regional'),
      method,
      version: String(props.publicIPAddressVersion ?? 'IPv4'),
      idle,
      label,
      ip: old?.ip,
    } satisfies PipData;
  };
}

export function checkZones(body: Obj, r: Res, region: Region): string[] | undefined {
  if (body.zones === undefined) return undefined;
  const zones = Array.isArray(body.zones) ? body.zones.map(String) : [];
  const bad = zones.filter((z) => !region.zones.includes(z));
  if (bad.length)
    throw new ArmError(
      400,
      'InvalidParameter',
      `The zone(s) '${bad.join(',')}' for resource '${r.info.type}/${r.name}' is not supported. The supported zones for location '${region.name}' are '${region.zones.join(',')}'`,
      { target: 'zones' },
    );
  return zones;
}

export function prepareNic(w: World, body: Obj, r: Res, existing: Res | undefined): () => void {
  const props = (body.properties ?? {}) as Obj;
  const configs = Array.isArray(props.ipConfigurations) ? (props.ipConfigurations as Obj[]) : [];
  if (configs.length === 0)
    throw new ArmError(
      400,
      'NetworkInterfaceMustHaveAtLeastOneIpConfiguration',
      `Network interface ${r.id} must have at least one IP configuration.`,
    );
  const old = existing?.data as NicData | undefined;
  const out: IpConfig[] = [];
  for (const [i, c] of configs.entries()) {
    const name = String(c.name ?? '');
    const from = `${r.id}/ipConfigurations/${name}`;
    const cp = (c.properties ?? {}) as Obj;
    const subnetId = (cp.subnet as Obj | undefined)?.id;
    if (typeof subnetId !== 'string')
      throw new ArmError(400, 'InvalidRequestFormat', `IP configuration ${from} has no subnet.`);
    const { subnet } = subnetRef(w, subnetId, from, r.location);
    const pipId = (cp.publicIPAddress as Obj | undefined)?.id;
    if (pipId !== undefined) {
      const pip = reference(w, String(pipId), 'pip', from, r.location);
      const user = [...w.items.values()].find(
        (x) =>
          x.kind === 'nic' &&
          x !== existing &&
          (x.data as NicData).ipconfigs.some((k) => k.pip && same(k.pip, pip.id)),
      );
      if (user)
        throw new ArmError(
          400,
          'PublicIPAddressInUse',
          `Public IP address ${pip.id} is already in use by ${user.id}. It cannot be referenced by ${from}.`,
        );
    }
    const method = String(cp.privateIPAllocationMethod ?? (cp.privateIPAddress ? 'Static' : 'Dynamic'));
    let ip: string;
    if (method === 'Static') {
      ip = String(cp.privateIPAddress ?? '');
      const n = parseIp(ip);
      if (n === undefined || !ipInCidr(n, parseCidr(subnet.prefix)!))
        throw new ArmError(
          400,
          'PrivateIPAddressNotInSubnet',
          `IP configuration ${from} is referencing private IP address ${ip} which is not in the subnet address range ${subnet.prefix}.`,
        );
      const user = [...w.items.values()].find(
        (x) => x.kind === 'nic' && x !== existing && (x.data as NicData).ipconfigs.some((k) => k.ip === ip),
      );
      if (user)
        throw new ArmError(
          400,
          'PrivateIPAddressInUse',
          `IP configuration ${from} is using the private IP address ${ip} which is already allocated to resource ${user.id}.`,
        );
    } else {
      ip = old?.ipconfigs.find((k) => same(k.name, name))?.ip ?? '';
    }
    out.push({
      name,
      subnet: subnetId,
      pip: pipId === undefined ? undefined : String(pipId),
      method,
      ip,
      primary: cp.primary === true || (configs.length === 1 && i === 0),
    });
  }
  if (out.filter((c) => c.primary).length !== 1)
    throw new ArmError(
      400,
      'NetworkInterfaceMustHaveOnePrimaryIpConfiguration',
      `Network interface ${r.id} must have exactly one primary IP configuration.`,
    );
  const nsg = (props.networkSecurityGroup as Obj | undefined)?.id;
  if (nsg !== undefined) reference(w, String(nsg), 'nsg', r.id, r.location);
  const accel = props.enableAcceleratedNetworking === true;
  if (accel && existing) {
    const vm = vmOfNic(w, existing);
    const size = vm ? VM_SIZES.find((s) => s.name === (vm.data as VmData).size) : undefined;
    if (vm && size && !size.acceleratedNetworking) throw noAccel(vm, size);
  }
  return () => {
    for (const c of out) if (!c.ip) c.ip = w.privateAddress();
    r.data = {
      ipconfigs: out,
      nsg: nsg === undefined ? undefined : String(nsg),
      accel,
      forwarding: props.enableIPForwarding === true,
      mac: old?.mac,
    } satisfies NicData;
  };
}

export function noAccel(vm: Res, size: VmSize): ArmError {
  return new ArmError(
    400,
    'VMSizeIsNotPermittedToEnableAcceleratedNetworking',
    `Virtual Machine size ${size.name} is not in the allowed list of VM sizes for accelerated networking to be enabled on the VM at index 0 for VM ${vm.id}. Allowed sizes: ${VM_SIZES.filter(
      (s) => s.acceleratedNetworking,
    )
      .map((s) => s.name)
      .join(', ')}.`,
  );
}
