/**
 * What the Azure Resource Manager fake offers: clouds and their regions, VM sizes, platform images
 * and the API versions it answers. Written from Azure's public documentation; the sizes' figures
 * are Azure's, the image versions are examples of the real naming.
 */

export type CloudName = 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';

export interface Region {
  name: string;
  displayName: string;
  /** Availability zones ('' for none: westus has none). */
  zones: string[];
  maxFaultDomains: number;
}

export const CLOUDS: Record<CloudName, { login: string; dnsSuffix: string; regions: Region[] }> = {
  AzureCloud: {
    login: 'https://login.microsoftonline.com',
    dnsSuffix: 'cloudapp.azure.com',
    regions: [
      { name: 'westus', displayName: 'West US', zones: [], maxFaultDomains: 3 },
      { name: 'westus2', displayName: 'West US 2', zones: ['1', '2', '3'], maxFaultDomains: 2 },
      { name: 'eastus', displayName: 'East US', zones: ['1', '2', '3'], maxFaultDomains: 3 },
      { name: 'eastus2', displayName: 'East US 2', zones: ['1', '2', '3'], maxFaultDomains: 3 },
      { name: 'westeurope', displayName: 'West Europe', zones: ['1', '2', '3'], maxFaultDomains: 3 },
      { name: 'northeurope', displayName: 'North Europe', zones: ['1', '2', '3'], maxFaultDomains: 3 },
      { name: 'southeastasia', displayName: 'Southeast Asia', zones: ['1', '2', '3'], maxFaultDomains: 2 },
    ],
  },
  AzureChinaCloud: {
    login: 'https://login.chinacloudapi.cn',
    dnsSuffix: 'cloudapp.chinacloudapi.cn',
    regions: [
      { name: 'chinaeast2', displayName: 'China East 2', zones: [], maxFaultDomains: 2 },
      { name: 'chinanorth3', displayName: 'China North 3', zones: ['1', '2', '3'], maxFaultDomains: 2 },
    ],
  },
  AzureUSGovernment: {
    login: 'https://login.microsoftonline.us',
    dnsSuffix: 'cloudapp.usgovcloudapi.net',
    regions: [
      { name: 'usgovvirginia', displayName: 'USGov Virginia', zones: ['1', '2', '3'], maxFaultDomains: 2 },
      { name: 'usgovarizona', displayName: 'USGov Arizona', zones: [], maxFaultDomains: 2 },
    ],
  },
};

export interface VmSize {
  name: string;
  cores: number;
  memoryMB: number;
  resourceDiskMB: number;
  maxDataDisks: number;
  generations: ('V1' | 'V2')[];
  acceleratedNetworking: boolean;
  premiumIO: boolean;
  /** Regions that offer it; every region when absent. */
  only?: string[];
}

export const VM_SIZES: VmSize[] = [
  {
    name: 'Standard_A2',
    cores: 2,
    memoryMB: 3584,
    resourceDiskMB: 138240,
    maxDataDisks: 4,
    generations: ['V1'],
    acceleratedNetworking: false,
    premiumIO: false,
  },
  {
    name: 'Standard_B1s',
    cores: 1,
    memoryMB: 1024,
    resourceDiskMB: 4096,
    maxDataDisks: 2,
    generations: ['V1', 'V2'],
    acceleratedNetworking: false,
    premiumIO: true,
  },
  {
    name: 'Standard_B2s',
    cores: 2,
    memoryMB: 4096,
    resourceDiskMB: 8192,
    maxDataDisks: 4,
    generations: ['V1', 'V2'],
    acceleratedNetworking: false,
    premiumIO: true,
  },
  {
    name: 'Standard_D2_v2',
    cores: 2,
    memoryMB: 7168,
    resourceDiskMB: 102400,
    maxDataDisks: 8,
    generations: ['V1', 'V2'],
    acceleratedNetworking: true,
    premiumIO: false,
  },
  {
    name: 'Standard_DS2_v2',
    cores: 2,
    memoryMB: 7168,
    resourceDiskMB: 14336,
    maxDataDisks: 8,
    generations: ['V1', 'V2'],
    acceleratedNetworking: true,
    premiumIO: true,
  },
  {
    name: 'Standard_D2s_v3',
    cores: 2,
    memoryMB: 8192,
    resourceDiskMB: 16384,
    maxDataDisks: 4,
    generations: ['V1', 'V2'],
    acceleratedNetworking: true,
    premiumIO: true,
  },
  {
    name: 'Standard_D4s_v3',
    cores: 4,
    memoryMB: 16384,
    resourceDiskMB: 32768,
    maxDataDisks: 8,
    generations: ['V1', 'V2'],
    acceleratedNetworking: true,
    premiumIO: true,
  },
  {
    name: 'Standard_F2s_v2',
    cores: 2,
    memoryMB: 4096,
    resourceDiskMB: 16384,
    maxDataDisks: 4,
    generations: ['V1', 'V2'],
    acceleratedNetworking: true,
    premiumIO: true,
  },
  {
    name: 'Standard_NC24ads_A100_v4',
    cores: 24,
    memoryMB: 225280,
    resourceDiskMB: 65536,
    maxDataDisks: 8,
    generations: ['V2'],
    acceleratedNetworking: true,
    premiumIO: true,
    only: ['eastus', 'westeurope'],
  },
];

export interface PlatformImage {
  publisher: string;
  offer: string;
  sku: string;
  versions: string[];
  generation: 'V1' | 'V2';
  osDiskGB: number;
  /** Marketplace images that need a plan in the VM and accepted terms. */
  plan?: { name: string; product: string; publisher: string };
}

/** Azure matches an image's publisher, offer and SKU without regard to case. */
export function findImage(publisher: string, offer: string, sku: string): PlatformImage | undefined {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return IMAGES.find((i) => eq(i.publisher, publisher) && eq(i.offer, offer) && eq(i.sku, sku));
}

export const IMAGES: PlatformImage[] = [
  {
    publisher: 'Canonical',
    offer: 'UbuntuServer',
    sku: '16.04.0-LTS',
    versions: ['16.04.201906280', '16.04.202104290'],
    generation: 'V1',
    osDiskGB: 30,
  },
  {
    publisher: 'Canonical',
    offer: 'UbuntuServer',
    sku: '18.04-LTS',
    versions: ['18.04.202305220', '18.04.202306070'],
    generation: 'V1',
    osDiskGB: 30,
  },
  {
    publisher: 'Canonical',
    offer: '0001-com-ubuntu-server-jammy',
    sku: '22_04-lts-gen2',
    versions: ['22.04.202410020', '22.04.202411010'],
    generation: 'V2',
    osDiskGB: 30,
  },
  {
    publisher: 'Canonical',
    offer: 'ubuntu-24_04-lts',
    sku: 'server',
    versions: ['24.04.202411030', '24.04.202412050'],
    generation: 'V2',
    osDiskGB: 30,
  },
  {
    publisher: 'Canonical',
    offer: 'ubuntu-24_04-lts',
    sku: 'server-gen1',
    versions: ['24.04.202411030', '24.04.202412050'],
    generation: 'V1',
    osDiskGB: 30,
  },
  {
    publisher: 'Debian',
    offer: 'debian-12',
    sku: '12',
    versions: ['0.20241004.1890', '0.20241111.1937'],
    generation: 'V1',
    osDiskGB: 30,
  },
  {
    publisher: 'kinvolk',
    offer: 'flatcar-container-linux',
    sku: 'stable',
    versions: ['3975.2.2', '4081.2.0'],
    generation: 'V1',
    osDiskGB: 30,
    plan: { name: 'stable', product: 'flatcar-container-linux', publisher: 'kinvolk' },
  },
];

/** API versions the fake answers: those of the copied Swagger files (validate() checks against them). */
export const API_VERSIONS = {
  compute: ['2024-03-01'],
  /** The disk resource provider versions separately from the rest of Microsoft.Compute. */
  disks: ['2023-04-02', '2023-10-02', '2024-03-02'],
  network: ['2024-01-01'],
  resources: ['2024-03-01'],
  /** Subscription details and locations (subscriptions.json, not copied): that API's own versions. */
  subscriptions: ['2016-06-01', '2020-01-01', '2022-12-01'],
};

/** Usernames Azure refuses for a Linux VM's administrator. */
export const RESERVED_USERNAMES = new Set([
  'administrator',
  'admin',
  'user',
  'user1',
  'test',
  'user2',
  'test1',
  'user3',
  'admin1',
  '1',
  '123',
  'a',
  'actuser',
  'adm',
  'admin2',
  'aspnet',
  'backup',
  'console',
  'david',
  'guest',
  'john',
  'owner',
  'root',
  'server',
  'sql',
  'support',
  'support_388945a0',
  'sys',
  'test2',
  'test3',
  'user4',
  'user5',
]);

export const DISK_SKUS = [
  'Standard_LRS',
  'Premium_LRS',
  'StandardSSD_LRS',
  'UltraSSD_LRS',
  'Premium_ZRS',
  'StandardSSD_ZRS',
  'PremiumV2_LRS',
];

/** IPv4 CIDR arithmetic for subnets and private addresses. */
export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const base = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  if ((base & mask(bits)) >>> 0 !== base) return undefined;
  return { base, bits };
}

export function parseIp(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const c = parseCidr(`${s}/32`);
  return c?.base;
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.bits >= outer.bits && (inner.base & mask(outer.bits)) >>> 0 === outer.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function ipInCidr(ip: number, c: Cidr): boolean {
  return (ip & mask(c.bits)) >>> 0 === c.base;
}
