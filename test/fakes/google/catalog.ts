/** What the fake Compute Engine offers: zones, machine types, accelerators, disk types, public images. */

export interface ImageDef {
  project: string;
  name: string;
  family?: string;
  /** DEPRECATED images still work (with a warning); OBSOLETE and DELETED ones are refused. */
  state?: 'DEPRECATED' | 'OBSOLETE' | 'DELETED';
  replacement?: string;
  diskSizeGb?: number;
  created?: string;
  architecture?: 'X86_64' | 'ARM64';
}

export const ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-b',
  'us-west1-a',
  'europe-west1-b',
  'europe-west1-c',
  'europe-west1-d',
  'europe-west3-a',
  'asia-northeast1-a',
  'asia-northeast3-a',
  'asia-northeast3-b',
];

export const MACHINE_TYPES: Record<string, { cpus: number; memoryMb: number; shared?: boolean }> = {
  'f1-micro': { cpus: 1, memoryMb: 614, shared: true },
  'g1-small': { cpus: 1, memoryMb: 1740, shared: true },
  'e2-micro': { cpus: 2, memoryMb: 1024, shared: true },
  'e2-small': { cpus: 2, memoryMb: 2048, shared: true },
  'e2-medium': { cpus: 2, memoryMb: 4096, shared: true },
  'e2-standard-2': { cpus: 2, memoryMb: 8192 },
  'n1-standard-1': { cpus: 1, memoryMb: 3840 },
  'n1-standard-2': { cpus: 2, memoryMb: 7680 },
  'n1-standard-4': { cpus: 4, memoryMb: 15360 },
  'n2-standard-2': { cpus: 2, memoryMb: 8192 },
};

export const ACCELERATORS = ['nvidia-tesla-t4', 'nvidia-tesla-k80', 'nvidia-tesla-v100', 'nvidia-tesla-p100'];
export const CPU_PLATFORMS = [
  'Intel Broadwell',
  'Intel Skylake',
  'Intel Cascade Lake',
  'Intel Ice Lake',
  'AMD Rome',
  'AMD Milan',
];
export const DISK_TYPES = ['pd-standard', 'pd-balanced', 'pd-ssd', 'pd-extreme'];

/** The public image catalogue; ubuntu-1604-xenial-v20170721 (the original's default) is gone. */
export const IMAGES: ImageDef[] = [
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-1404-trusty-v20190514',
    family: 'ubuntu-1404-lts',
    state: 'OBSOLETE',
  },
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-1604-xenial-v20200223',
    family: 'ubuntu-1604-lts',
    state: 'DEPRECATED',
    replacement: 'ubuntu-1604-xenial-v20210429',
  },
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-1604-xenial-v20210429',
    family: 'ubuntu-1604-lts',
    state: 'DEPRECATED',
    replacement: 'ubuntu-2004-focal-v20251015',
  },
  { project: 'ubuntu-os-cloud', name: 'ubuntu-2004-focal-v20251015', family: 'ubuntu-2004-lts' },
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-2204-jammy-v20220420',
    family: 'ubuntu-2204-lts',
    state: 'DEPRECATED',
  },
  { project: 'ubuntu-os-cloud', name: 'ubuntu-2204-jammy-v20251023', family: 'ubuntu-2204-lts' },
  { project: 'ubuntu-os-cloud', name: 'ubuntu-2404-noble-amd64-v20251001', family: 'ubuntu-2404-lts-amd64' },
  { project: 'ubuntu-os-cloud', name: 'ubuntu-2404-noble-amd64-v20251120', family: 'ubuntu-2404-lts-amd64' },
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-2404-noble-arm64-v20251120',
    family: 'ubuntu-2404-lts-arm64',
    architecture: 'ARM64',
  },
  { project: 'debian-cloud', name: 'debian-11-bullseye-v20251014', family: 'debian-11' },
  { project: 'debian-cloud', name: 'debian-12-bookworm-v20251014', family: 'debian-12' },
  { project: 'debian-cloud', name: 'debian-12-bookworm-v20251111', family: 'debian-12' },
];

export function regionOf(zone: string): string {
  return zone.slice(0, -2);
}

export function imageDate(name: string): string {
  const m = /v(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : '2020-01-01';
}
