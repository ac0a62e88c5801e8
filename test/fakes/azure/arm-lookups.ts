import { API_VERSIONS, type PlatformImage, type Region, type VmSize } from './arm-catalog.js';
import type { Obj } from './arm-state.js';

/** What a subscription shows of itself: its details, regions, providers, VM sizes and images. */
export function subscriptionBody(o: {
  subscriptionId: string;
  tenantId: string;
  subscriptionName: string;
}): Obj {
  return {
    id: `/subscriptions/${o.subscriptionId}`,
    subscriptionId: o.subscriptionId,
    tenantId: o.tenantId,
    displayName: o.subscriptionName,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
    authorizationSource: 'RoleBased',
    managedByTenants: [],
  };
}

export function locationBody(subscriptionId: string, r: Region): Obj {
  return {
    id: `/subscriptions/${subscriptionId}/locations/${r.name}`,
    name: r.name,
    type: 'Region',
    displayName: r.displayName,
    regionalDisplayName: r.displayName,
    metadata: { regionType: 'Physical', regionCategory: 'Recommended', pairedRegion: [] },
    availabilityZoneMappings: r.zones.map((z) => ({ logicalZone: z, physicalZone: `${r.name}-az${z}` })),
  };
}

export function providerBody(
  subscriptionId: string,
  regions: Region[],
  namespace: string,
  types: string[],
  state: string,
): Obj {
  const versions: Record<string, string[]> = {
    'Microsoft.Compute': API_VERSIONS.compute,
    'Microsoft.Network': API_VERSIONS.network,
    'Microsoft.Resources': API_VERSIONS.resources,
    'Microsoft.Storage': ['2023-05-01'],
  };
  return {
    id: `/subscriptions/${subscriptionId}/providers/${namespace}`,
    namespace,
    registrationState: state,
    registrationPolicy: 'RegistrationRequired',
    resourceTypes: types.map((t) => ({
      resourceType: t,
      locations: regions.map((r) => r.displayName),
      apiVersions: t === 'disks' ? API_VERSIONS.disks : versions[namespace],
    })),
  };
}

export function sizeBody(s: VmSize): Obj {
  return {
    name: s.name,
    numberOfCores: s.cores,
    osDiskSizeInMB: 1047552,
    resourceDiskSizeInMB: s.resourceDiskMB,
    memoryInMB: s.memoryMB,
    maxDataDiskCount: s.maxDataDisks,
  };
}

/** One version of a platform image: as a list shows it, or (`full`) as a GET of it does. */
export function imageBody(
  subscriptionId: string,
  location: string,
  img: PlatformImage,
  version: string,
  full: boolean,
): Obj {
  const o: Obj = {
    location,
    name: version,
    id: `/Subscriptions/${subscriptionId}/Providers/Microsoft.Compute/Locations/${location}/Publishers/${img.publisher}/ArtifactTypes/VMImage/Offers/${img.offer}/Skus/${img.sku}/Versions/${version}`,
  };
  if (!full) return o;
  const properties: Obj = {
    hyperVGeneration: img.generation,
    osDiskImage: { operatingSystem: 'Linux', sizeInGb: img.osDiskGB },
    dataDiskImages: [],
    automaticOSUpgradeProperties: { automaticOSUpgradeSupported: false },
    architecture: 'x64',
    imageDeprecationStatus: { imageState: 'Active' },
  };
  if (img.plan) properties.plan = img.plan;
  o.properties = properties;
  return o;
}
