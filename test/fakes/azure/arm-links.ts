import {
  ArmError,
  type DiskData,
  type NicData,
  type Res,
  type SubnetData,
  same,
  type VmData,
  type VnetData,
  type World,
} from './arm-state.js';

/** What refers to what: ARM refuses to delete a resource another still uses. */

/** Refuses, in ARM's words, the DELETE of a resource something else still uses. */
export function checkDeletable(w: World, r: Res): void {
  const users = (pred: (x: Res) => boolean) => [...w.items.values()].filter(pred);
  if (r.kind === 'nic') {
    const vm = users((x) => x.kind === 'vm' && (x.data as VmData).nics.some((n) => same(n.id, r.id)))[0];
    if (vm)
      throw new ArmError(
        400,
        'NicInUse',
        `Network Interface ${r.id} is used by existing resource ${vm.id}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
      );
  }
  if (r.kind === 'pip') {
    const nic = users(
      (x) => x.kind === 'nic' && (x.data as NicData).ipconfigs.some((c) => c.pip && same(c.pip, r.id)),
    )[0];
    if (nic) {
      const c = (nic.data as NicData).ipconfigs.find((x) => x.pip && same(x.pip, r.id))!;
      throw new ArmError(
        400,
        'PublicIPAddressCannotBeDeleted',
        `Public IP address ${r.id} can not be deleted since it is still allocated to resource ${nic.id}/ipConfigurations/${c.name}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.`,
      );
    }
  }
  if (r.kind === 'nsg') {
    const nics = users(
      (x) => x.kind === 'nic' && !!(x.data as NicData).nsg && same((x.data as NicData).nsg!, r.id),
    );
    const subnets = subnetsUsingNsg(w, r.id);
    const using = [...nics.map((x) => x.id), ...subnets];
    if (using.length)
      throw new ArmError(
        400,
        'InUseNetworkSecurityGroupCannotBeDeleted',
        `Network security group ${r.id} cannot be deleted because it is in use by the following resources: ${using.join(', ')}. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.`,
      );
  }
  if (r.kind === 'vnet') {
    for (const s of (r.data as VnetData).subnets) subnetFree(w, r, s);
  }
  if (r.kind === 'as') {
    const vms = users(
      (x) =>
        x.kind === 'vm' &&
        !!(x.data as VmData).availabilitySet &&
        same((x.data as VmData).availabilitySet!, r.id),
    );
    if (vms.length)
      throw new ArmError(
        409,
        'OperationNotAllowed',
        `Availability Set '${r.name}' cannot be deleted. Before deleting an Availability Set please ensure that it does not contain any VM.`,
      );
  }
  if (r.kind === 'disk') {
    const d = r.data as DiskData;
    if (d.managedBy)
      throw new ArmError(409, 'OperationNotAllowed', `Disk ${r.name} is attached to VM ${d.managedBy}.`);
  }
}

export function subnetsUsingNsg(w: World, nsgId: string): string[] {
  const out: string[] = [];
  for (const x of w.items.values())
    if (x.kind === 'vnet')
      for (const s of (x.data as VnetData).subnets)
        if (s.nsg && same(s.nsg, nsgId)) out.push(`${x.id}/subnets/${s.name}`);
  return out;
}

/** The ip configurations in a subnet. */
export function subnetUsers(w: World, vnet: Res, subnet: string): string[] {
  const sid = `${vnet.id}/subnets/${subnet}`;
  const out: string[] = [];
  for (const x of w.items.values())
    if (x.kind === 'nic')
      for (const c of (x.data as NicData).ipconfigs)
        if (same(c.subnet, sid)) out.push(`${x.id}/ipConfigurations/${c.name}`);
  return out;
}

export function subnetFree(w: World, vnet: Res, s: SubnetData): void {
  const users = subnetUsers(w, vnet, s.name);
  if (users.length)
    throw new ArmError(
      400,
      'InUseSubnetCannotBeDeleted',
      `Subnet ${s.name} is in use by ${users[0]} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`,
    );
}

export function vmOfNic(w: World, nic: Res): Res | undefined {
  return [...w.items.values()].find(
    (x) => x.kind === 'vm' && (x.data as VmData).nics.some((n) => same(n.id, nic.id)),
  );
}
