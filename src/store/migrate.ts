import { dirname, join } from 'node:path';
import { DEFAULT_INSTALL_URL } from './host.js';

/**
 * Older config.json versions, brought to version 3 step by step as the original does (spec §3.4):
 * v0 was flat, v1 nested the options, v2 renamed the CA key path, v3 put StorePath in the driver.
 */
type Json = Record<string, unknown>;

const asObj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const asStr = (v: unknown): string => (typeof v === 'string' ? v : '');

function v0ToV1(h: Json): Json {
  return {
    ConfigVersion: 1,
    Driver: h.Driver,
    DriverName: h.DriverName,
    StorePath: h.StorePath,
    HostOptions: {
      EngineOptions: { TlsVerify: true, InstallURL: DEFAULT_INSTALL_URL },
      SwarmOptions: {
        Discovery: asStr(h.SwarmDiscovery),
        Host: asStr(h.SwarmHost),
        Master: h.SwarmMaster === true,
      },
      AuthOptions: {
        StorePath: h.StorePath,
        CaCertPath: h.CaCertPath,
        PrivateKeyPath: h.PrivateKeyPath,
        ServerCertPath: h.ServerCertPath,
        ServerKeyPath: h.ServerKeyPath,
        ClientCertPath: h.ClientCertPath,
        ClientKeyPath: h.ClientKeyPath,
      },
    },
    Name: h.Name,
  };
}

function v1ToV2(h: Json, storeRoot: string): Json {
  const ho = asObj(h.HostOptions);
  const auth = { ...asObj(ho.AuthOptions) };
  const machineDir = asStr(h.StorePath) || asStr(auth.StorePath);
  const globalStore = machineDir ? dirname(dirname(machineDir)) : storeRoot;
  auth.CaPrivateKeyPath = auth.PrivateKeyPath;
  delete auth.PrivateKeyPath;
  auth.CertDir = join(globalStore, 'certs');
  auth.StorePath = globalStore;
  return {
    ConfigVersion: 2,
    Driver: h.Driver,
    DriverName: h.DriverName,
    HostOptions: { ...ho, AuthOptions: auth },
    Name: asStr(asObj(h.Driver).MachineName) || h.Name,
  };
}

function v2ToV3(h: Json, storeRoot: string): Json {
  const driver: Json = { ...asObj(h.Driver), StorePath: storeRoot };
  // The original re-encodes the driver through a map here, so its keys come out sorted.
  const sorted: Json = {};
  for (const k of Object.keys(driver).sort()) sorted[k] = driver[k];
  return { ...h, ConfigVersion: 3, Driver: sorted };
}

/** The host data at version 3, or the input unchanged when it already is. */
export function migrateToV3(h: Json, storeRoot: string): Json {
  let version = typeof h.ConfigVersion === 'number' ? h.ConfigVersion : 0;
  let cur = h;
  if (version === 0) {
    cur = v0ToV1(cur);
    version = 1;
  }
  if (version === 1) {
    cur = v1ToV2(cur, storeRoot);
    version = 2;
  }
  if (version === 2) cur = v2ToV3(cur, storeRoot);
  return cur;
}
