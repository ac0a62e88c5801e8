import { randomBytes, randomUUID } from 'node:crypto';
import { DISK_SKUS, findImage, RESERVED_USERNAMES, type Region, VM_SIZES } from './arm-catalog.js';
import { vmOfNic } from './arm-links.js';
import { checkZones, noAccel } from './arm-network.js';
import {
  ArmError,
  type AsData,
  type DiskData,
  KINDS,
  type NicData,
  type Obj,
  type Res,
  same,
  type VmData,
  type World,
} from './arm-state.js';

/**
 * Availability sets and VMs as the Compute provider checks them: each `prepare*` refuses a body
 * as ARM would, or answers the change to make. The VM's managed OS disk is made with it.
 */

export function prepareAs(body: Obj, r: Res, region: Region): () => void {
  const props = (body.properties ?? {}) as Obj;
  const sku = String(((body.sku ?? {}) as Obj).name ?? 'Classic');
  if (sku !== 'Aligned' && sku !== 'Classic')
    throw new ArmError(
      400,
      'InvalidParameter',
      `The value '${sku}' of the availability set SKU is not valid.`,
      {
        target: 'sku.name',
      },
    );
  const fd = props.platformFaultDomainCount === undefined ? 2 : Number(props.platformFaultDomainCount);
  if (!Number.isInteger(fd) || fd < 1 || fd > region.maxFaultDomains)
    throw new ArmError(
      400,
      'InvalidParameter',
      `The specified fault domain count ${props.platformFaultDomainCount} must fall in the range 1 to ${region.maxFaultDomains}.`,
      { target: 'platformFaultDomainCount' },
    );
  const ud = props.platformUpdateDomainCount === undefined ? 5 : Number(props.platformUpdateDomainCount);
  if (!Number.isInteger(ud) || ud < 1 || ud > 20)
    throw new ArmError(
      400,
      'InvalidParameter',
      `The specified update domain count ${props.platformUpdateDomainCount} must fall in the range 1 to 20.`,
      { target: 'platformUpdateDomainCount' },
    );
  return () => {
    r.data = { sku, faultDomains: fd, updateDomains: ud } satisfies AsData;
  };
}

export function prepareVm(
  w: World,
  body: Obj,
  r: Res,
  region: Region,
  existing: Res | undefined,
): () => void {
  const props = (body.properties ?? {}) as Obj;
  const invalid = (message: string, target?: string) =>
    new ArmError(400, 'InvalidParameter', message, target ? { target } : {});
  const missing = (what: string) => invalid(`Required parameter '${what}' is missing (null).`, what);

  const hw = props.hardwareProfile as Obj | undefined;
  if (!hw?.vmSize) throw missing('hardwareProfile');
  const sizeName = String(hw.vmSize);
  const size = VM_SIZES.find((s) => s.name.toLowerCase() === sizeName.toLowerCase());
  if (!size || (size.only && !size.only.includes(region.name)))
    throw new ArmError(
      409,
      'SkuNotAvailable',
      `The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: ${sizeName}' is currently not available in location '${region.name}'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.`,
    );

  if (existing) {
    // What a PUT may change on a made VM: its size and tags. The rest is fixed at creation.
    const old = existing.data as VmData;
    const os = (props.osProfile ?? {}) as Obj;
    if (os.adminUsername !== undefined && os.adminUsername !== old.adminUsername)
      throw new ArmError(
        409,
        'PropertyChangeNotAllowed',
        "Changing property 'osProfile.adminUsername' is not allowed.",
        {
          target: 'osProfile.adminUsername',
        },
      );
    if (
      os.customData !== undefined &&
      Buffer.from(String(os.customData), 'base64').toString('utf8') !== old.customData
    )
      throw new ArmError(409, 'PropertyChangeNotAllowed', "Changing property 'customData' is not allowed.", {
        target: 'customData',
      });
    const ref = ((props.storageProfile ?? {}) as Obj).imageReference as Obj | undefined;
    for (const f of ['publisher', 'offer', 'sku'] as const)
      if (ref?.[f] !== undefined && !same(String(ref[f]), old.image[f]))
        throw new ArmError(
          409,
          'PropertyChangeNotAllowed',
          `Changing property 'imageReference.${f}' is not allowed.`,
          {
            target: `imageReference.${f}`,
          },
        );
    checkQuota(w, region, size.cores - (VM_SIZES.find((s) => s.name === old.size)?.cores ?? 0));
    return () => {
      old.size = size.name;
    };
  }

  const storage = (props.storageProfile ?? {}) as Obj;
  const ref = storage.imageReference as Obj | undefined;
  const osDisk = (storage.osDisk ?? {}) as Obj;
  if (osDisk.vhd !== undefined)
    throw new ArmError(
      400,
      'OperationNotAllowed',
      'Unmanaged OS disks (osDisk.vhd) can no longer be created: create the VM with a managed disk (osDisk.managedDisk).',
      { target: 'osDisk.vhd' },
    );
  const createOption = String(osDisk.createOption ?? 'FromImage');
  if (createOption !== 'FromImage')
    throw invalid(
      `The value '${createOption}' of osDisk.createOption is not supported here; only FromImage is.`,
      'osDisk.createOption',
    );
  if (!ref) throw missing('imageReference');
  for (const f of ['publisher', 'offer', 'sku'])
    if (typeof ref[f] !== 'string' || ref[f] === '') throw missing(`imageReference.${f}`);
  const version = String(ref.version ?? 'latest');
  const img = findImage(String(ref.publisher), String(ref.offer), String(ref.sku));
  const exact =
    img &&
    (version.toLowerCase() === 'latest' ? img.versions.at(-1) : img.versions.find((v) => v === version));
  if (!img || !exact)
    throw new ArmError(
      404,
      'PlatformImageNotFound',
      `The platform image '${ref.publisher}:${ref.offer}:${ref.sku}:${version}' is not available. Verify that all fields in the storage profile are correct. For more details about storage profile information, please refer to https://aka.ms/storageprofile`,
      { target: 'imageReference' },
    );
  const plan = body.plan as Obj | undefined;
  if (img.plan) {
    if (
      !plan ||
      plan.name !== img.plan.name ||
      plan.product !== img.plan.product ||
      plan.publisher !== img.plan.publisher
    )
      throw new ArmError(
        400,
        'VMMarketplaceInvalidInput',
        `Creating a virtual machine from Marketplace image or a custom image sourced from a Marketplace image requires Plan information in the request. VM: '${r.id}'.`,
      );
  }
  if (!size.generations.includes(img.generation))
    throw new ArmError(
      400,
      'BadRequest',
      `The selected VM size '${size.name}' cannot boot Hypervisor Generation '${img.generation.slice(1)}'. If this was a Create operation please check that the Hypervisor Generation of the Image matches the Hypervisor Generation of the selected VM Size. If this was an Update operation please select a Hypervisor Generation '${img.generation.slice(1)}' VM Size. For more information, see https://aka.ms/azuregen2vm`,
    );
  const managed = (osDisk.managedDisk ?? {}) as Obj;
  const diskSku = String(managed.storageAccountType ?? 'Standard_LRS');
  if (!DISK_SKUS.includes(diskSku))
    throw invalid(
      `The value '${diskSku}' of parameter 'managedDisk.storageAccountType' is not valid. Allowed values are ${DISK_SKUS.join(', ')}.`,
      'osDisk.managedDisk.storageAccountType',
    );
  if (diskSku.startsWith('Premium') && !size.premiumIO)
    throw new ArmError(
      400,
      'BadRequest',
      `Requested operation cannot be performed because the VM size ${size.name} does not support the storage account type ${diskSku} of disk '${osDisk.name ?? r.name}'. Consider updating the VM to a size that supports Premium storage.`,
    );
  const diskGB = osDisk.diskSizeGB === undefined ? img.osDiskGB : Number(osDisk.diskSizeGB);
  if (!Number.isInteger(diskGB) || diskGB < img.osDiskGB)
    throw invalid(
      `The specified disk size ${osDisk.diskSizeGB} GB is smaller than the size of the corresponding disk in the VM image: ${img.osDiskGB} GB. This is not allowed. Please choose equal or greater size or do not specify an explicit size.`,
      'osDisk.diskSizeGB',
    );
  if (diskGB > 4095)
    throw invalid(
      `The specified disk size ${diskGB} GB exceeds the maximum of 4095 GB for an OS disk.`,
      'osDisk.diskSizeGB',
    );
  const deleteOption = String(osDisk.deleteOption ?? 'Detach');
  if (deleteOption !== 'Delete' && deleteOption !== 'Detach')
    throw invalid(`The value '${deleteOption}' of osDisk.deleteOption is not valid.`, 'osDisk.deleteOption');

  const os = props.osProfile as Obj | undefined;
  if (!os) throw missing('osProfile');
  const user = os.adminUsername;
  if (typeof user !== 'string' || user === '') throw missing('adminUsername');
  if (RESERVED_USERNAMES.has(user.toLowerCase()) || !/^[a-z_][a-z0-9_.-]{0,63}$/i.test(user))
    throw invalid('The Admin Username specified is not allowed.', 'adminUsername');
  const computerName = String(os.computerName ?? r.name);
  if (!/^[A-Za-z0-9][A-Za-z0-9-.]{0,63}$/.test(computerName))
    throw invalid(
      `Linux host name cannot exceed 64 characters in length or contain the following characters: \`~!@#$%^&*()=+_[]{}\\|;:'",<>/?.`,
      'computerName',
    );
  const linux = (os.linuxConfiguration ?? {}) as Obj;
  const disablePassword = linux.disablePasswordAuthentication === true;
  const keys = (((linux.ssh ?? {}) as Obj).publicKeys ?? []) as Obj[];
  if (!Array.isArray(keys)) throw invalid('linuxConfiguration.ssh.publicKeys must be a list.', 'publicKeys');
  if (disablePassword && keys.length === 0)
    throw invalid(
      'Authentication using either SSH or by user name and password must be enabled in Linux profile.',
      'linuxConfiguration',
    );
  if (!disablePassword && typeof os.adminPassword !== 'string') throw missing('adminPassword');
  const home = `/home/${user}/.ssh/authorized_keys`;
  for (const k of keys) {
    if (k.path !== home)
      throw invalid(
        `Destination path for SSH public keys is currently limited to its default value ${home} due to a known issue in Linux provisioning agent.`,
        'linuxConfiguration.ssh.publicKeys.path',
      );
    if (!/^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/]+=*( .*)?\s*$/.test(String(k.keyData ?? '')))
      throw invalid(
        'The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.',
        'linuxConfiguration.ssh.publicKeys.keyData',
      );
  }
  let customData: string | undefined;
  if (os.customData !== undefined) {
    const raw = String(os.customData);
    if (raw.length > 87380 || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0)
      throw invalid(
        'Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.',
        'customData',
      );
    customData = Buffer.from(raw, 'base64').toString('utf8');
  }

  const net = (props.networkProfile ?? {}) as Obj;
  const nicRefs = Array.isArray(net.networkInterfaces) ? (net.networkInterfaces as Obj[]) : [];
  if (nicRefs.length === 0)
    throw invalid(
      'At least one network interface is required in networkProfile.networkInterfaces.',
      'networkProfile',
    );
  const nics = nicRefs.map((n) => {
    const np = (n.properties ?? {}) as Obj;
    return {
      id: String(n.id ?? ''),
      primary: np.primary === undefined ? undefined : np.primary === true,
      deleteOption: np.deleteOption === undefined ? undefined : String(np.deleteOption),
    };
  });
  if (nics.length > 1 && nics.filter((n) => n.primary).length !== 1)
    throw invalid(
      `Virtual machine ${r.name} must have one network interface set as the primary.`,
      'networkInterfaces',
    );
  for (const n of nics) {
    const nic = w.items.get(n.id.toLowerCase());
    if (nic?.kind !== 'nic') throw new ArmError(404, 'NotFound', `Resource ${n.id} not found.`);
    if (nic.location !== region.name)
      throw invalid(
        `The network interface ${n.id} is in location '${nic.location}', not the virtual machine's location '${region.name}'.`,
        'networkInterfaces',
      );
    const user = vmOfNic(w, nic);
    if (user)
      throw new ArmError(
        400,
        'NicInUse',
        `Network Interface ${nic.id} is used by existing resource ${user.id}. A network interface can be attached to one virtual machine only.`,
      );
    if ((nic.data as NicData).accel && !size.acceleratedNetworking) throw noAccel(r, size);
    if (n.deleteOption && n.deleteOption !== 'Delete' && n.deleteOption !== 'Detach')
      throw invalid(
        `The value '${n.deleteOption}' of deleteOption is not valid.`,
        'networkInterfaces.deleteOption',
      );
  }

  const zones = checkZones(body, r, region);
  const asId = (props.availabilitySet as Obj | undefined)?.id;
  if (asId !== undefined) {
    if (zones?.length)
      throw invalid(
        'Virtual Machine cannot be created in both an availability set and an availability zone.',
        'availabilitySet',
      );
    const as = w.items.get(String(asId).toLowerCase());
    if (as?.kind !== 'as') throw new ArmError(404, 'NotFound', `Availability set ${asId} was not found.`);
    if (as.location !== region.name)
      throw invalid(
        `The availability set ${asId} is in location '${as.location}', not the virtual machine's location '${region.name}'.`,
        'availabilitySet',
      );
    if ((as.data as AsData).sku !== 'Aligned')
      throw new ArmError(
        409,
        'OperationNotAllowed',
        "Addition of a VM with managed disks to non-managed Availability Set or addition of a VM with blob based disks to managed Availability Set is not supported. Please create an Availability Set with 'managed' property set in order to add a VM with managed disks to it.",
      );
  }
  checkQuota(w, region, size.cores);

  return () => {
    const diskName = String(osDisk.name ?? `${r.name}_OsDisk_1_${randomBytes(16).toString('hex')}`);
    const diskId = `/subscriptions/${w.opts.subscriptionId}/resourceGroups/${w.groups.get(r.rg)!.name}/providers/Microsoft.Compute/disks/${diskName}`;
    const diskRes: Res = {
      kind: 'disk',
      info: KINDS['microsoft.compute/disks'],
      id: diskId,
      name: diskName,
      rg: r.rg,
      location: region.name,
      zones,
      state: 'Succeeded',
      etag: '',
      guid: randomUUID(),
      seq: w.nextSeq(),
      data: {
        sku: diskSku,
        sizeGB: diskGB,
        managedBy: r.id,
        deleteOption,
        caching: String(osDisk.caching ?? 'ReadWrite'),
        generation: img.generation,
        image: `${img.publisher}:${img.offer}:${img.sku}:${exact}`,
      } satisfies DiskData,
    };
    w.items.set(diskId.toLowerCase(), diskRes);
    r.zones = zones;
    r.data = {
      size: size.name,
      image: {
        publisher: String(ref.publisher),
        offer: String(ref.offer),
        sku: String(ref.sku),
        version,
        exactVersion: exact,
      },
      plan,
      disk: diskId,
      adminUsername: user,
      computerName,
      disablePassword,
      keys: keys.map((k) => ({ path: String(k.path), keyData: String(k.keyData) })),
      nics: nics.map((n) => ({ ...n, id: w.items.get(n.id.toLowerCase())!.id })),
      availabilitySet: asId === undefined ? undefined : w.items.get(String(asId).toLowerCase())!.id,
      power: 'starting',
      vmId: randomUUID(),
      timeCreated: new Date().toISOString(),
      generation: img.generation,
      customData,
    } satisfies VmData;
  };
}

/** Total Regional Cores: every VM not deallocated counts. */
export function checkQuota(w: World, region: Region, more: number): void {
  if (more <= 0) return;
  let used = 0;
  for (const x of w.items.values())
    if (x.kind === 'vm' && x.location === region.name && (x.data as VmData).power !== 'deallocated')
      used += VM_SIZES.find((s) => s.name === (x.data as VmData).size)?.cores ?? 0;
  if (used + more > w.opts.coresQuota)
    throw new ArmError(
      409,
      'OperationNotAllowed',
      `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Additional details - Deployment Model: Resource Manager, Location: ${region.name}, Current Limit: ${w.opts.coresQuota}, Current Usage: ${used}, Additional Required: ${more}, (Minimum) New Limit Required: ${used + more}. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/ by specifying parameters listed in the 'Details' section for deployment to succeed.`,
    );
}
