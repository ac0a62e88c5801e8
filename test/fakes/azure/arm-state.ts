import { API_VERSIONS, type CloudName, type Region } from './arm-catalog.js';

/**
 * The Resource Manager fake's state: the resources it holds and their kinds, its long-running
 * operations, ARM's error, and the `World` the modules that check and show resources work on.
 */
export type Obj = Record<string, unknown>;
export type Kind = 'vm' | 'as' | 'disk' | 'vnet' | 'nsg' | 'pip' | 'nic';

export interface KindInfo {
  kind: Kind;
  type: string;
  ns: 'Microsoft.Compute' | 'Microsoft.Network';
  /** operationId prefix in the Swagger files. */
  ops: string;
  versions: string[];
  /** Network resources answer with provisioningState Updating while being made; Compute with Creating. */
  creating: string;
}

export const KINDS: Record<string, KindInfo> = {
  'microsoft.compute/virtualmachines': {
    kind: 'vm',
    type: 'Microsoft.Compute/virtualMachines',
    ns: 'Microsoft.Compute',
    ops: 'VirtualMachines',
    versions: API_VERSIONS.compute,
    creating: 'Creating',
  },
  'microsoft.compute/availabilitysets': {
    kind: 'as',
    type: 'Microsoft.Compute/availabilitySets',
    ns: 'Microsoft.Compute',
    ops: 'AvailabilitySets',
    versions: API_VERSIONS.compute,
    creating: 'Succeeded',
  },
  'microsoft.compute/disks': {
    kind: 'disk',
    type: 'Microsoft.Compute/disks',
    ns: 'Microsoft.Compute',
    ops: 'Disks',
    versions: API_VERSIONS.disks,
    creating: 'Creating',
  },
  'microsoft.network/virtualnetworks': {
    kind: 'vnet',
    type: 'Microsoft.Network/virtualNetworks',
    ns: 'Microsoft.Network',
    ops: 'VirtualNetworks',
    versions: API_VERSIONS.network,
    creating: 'Updating',
  },
  'microsoft.network/networksecuritygroups': {
    kind: 'nsg',
    type: 'Microsoft.Network/networkSecurityGroups',
    ns: 'Microsoft.Network',
    ops: 'NetworkSecurityGroups',
    versions: API_VERSIONS.network,
    creating: 'Updating',
  },
  'microsoft.network/publicipaddresses': {
    kind: 'pip',
    type: 'Microsoft.Network/publicIPAddresses',
    ns: 'Microsoft.Network',
    ops: 'PublicIPAddresses',
    versions: API_VERSIONS.network,
    creating: 'Updating',
  },
  'microsoft.network/networkinterfaces': {
    kind: 'nic',
    type: 'Microsoft.Network/networkInterfaces',
    ns: 'Microsoft.Network',
    ops: 'NetworkInterfaces',
    versions: API_VERSIONS.network,
    creating: 'Updating',
  },
};

export interface Res {
  kind: Kind;
  info: KindInfo;
  id: string;
  name: string;
  rg: string;
  location: string;
  tags?: Record<string, string>;
  zones?: string[];
  state: string;
  etag: string;
  guid: string;
  seq: number;
  op?: Op;
  data: Obj;
}

export interface VmData extends Obj {
  size: string;
  image: { publisher: string; offer: string; sku: string; version: string; exactVersion: string };
  plan?: Obj;
  disk: string;
  adminUsername: string;
  computerName: string;
  disablePassword: boolean;
  keys: { path: string; keyData: string }[];
  nics: { id: string; primary?: boolean; deleteOption?: string }[];
  availabilitySet?: string;
  power: string;
  vmId: string;
  timeCreated: string;
  generation: string;
}

export interface DiskData extends Obj {
  sku: string;
  sizeGB: number;
  managedBy?: string;
  deleteOption: string;
  caching: string;
  generation: string;
  image: string;
}

export interface SubnetData {
  name: string;
  prefix: string;
  nsg?: string;
  state: string;
  etag: string;
}

export interface VnetData extends Obj {
  prefixes: string[];
  subnets: SubnetData[];
}

export interface RuleData {
  name: string;
  etag: string;
  properties: Obj;
}

export interface NsgData extends Obj {
  rules: RuleData[];
}

export interface PipData extends Obj {
  sku: string;
  tier: string;
  method: string;
  version: string;
  idle: number;
  label?: string;
  ip?: string;
}

export interface IpConfig {
  name: string;
  subnet: string;
  pip?: string;
  method: string;
  ip: string;
  primary: boolean;
}

export interface NicData extends Obj {
  ipconfigs: IpConfig[];
  nsg?: string;
  accel: boolean;
  forwarding: boolean;
  mac?: string;
}

export interface AsData extends Obj {
  sku: string;
  faultDomains: number;
  updateDomains: number;
}

export interface Group {
  id: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  state: string;
  seq: number;
  op?: Op;
}

export type OpWhat =
  | 'create'
  | 'update'
  | 'delete'
  | 'start'
  | 'powerOff'
  | 'restart'
  | 'deallocate'
  | 'groupDelete';

export interface Op {
  id: string;
  ns: string;
  location: string;
  /** Lower-cased id of the resource (or resource group) it works on. */
  target: string;
  what: OpWhat;
  polls: number;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  error?: { code: string; message: string };
  httpStatus?: number;
  started: string;
  ended?: string;
  apiVersion: string;
  finishing?: Promise<void>;
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { target?: string; details?: Obj[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

export const RESOURCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,78}$/;
export const DNS_LABEL = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;
export const DEFAULT_RULES: [string, string, string, string, string, number][] = [
  ['AllowVnetInBound', 'Inbound', 'VirtualNetwork', 'VirtualNetwork', 'Allow', 65000],
  ['AllowAzureLoadBalancerInBound', 'Inbound', 'AzureLoadBalancer', '*', 'Allow', 65001],
  ['DenyAllInBound', 'Inbound', '*', '*', 'Deny', 65500],
  ['AllowVnetOutBound', 'Outbound', 'VirtualNetwork', 'VirtualNetwork', 'Allow', 65000],
  ['AllowInternetOutBound', 'Outbound', '*', 'Internet', 'Allow', 65001],
  ['DenyAllOutBound', 'Outbound', '*', '*', 'Deny', 65500],
];

/** What the network, compute and body modules read and change; FakeAzure holds it. */
export interface World {
  items: Map<string, Res>;
  groups: Map<string, Group>;
  opts: { subscriptionId: string; cloud: CloudName; coresQuota: number };
  regions: Region[];
  nextSeq(): number;
  publicAddress(): string;
  privateAddress(): string;
}

/** ARM compares names and ids without regard to case. */
export function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
