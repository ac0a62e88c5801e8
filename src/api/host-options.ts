import { join } from 'node:path';
import type { AuthOptions, EngineOptions, HostOptions, SwarmOptions } from '../store/host.js';
import {
  DEFAULT_INSTALL_URL,
  DEFAULT_SWARM_HOST,
  DEFAULT_SWARM_IMAGE,
  DEFAULT_SWARM_STRATEGY,
} from '../store/host.js';

/** What `create` was asked for beyond the driver: the shared create flags of the original. */
export interface CreateOptions {
  engine?: Partial<{
    installURL: string;
    opts: string[];
    insecureRegistries: string[];
    registryMirrors: string[];
    labels: string[];
    storageDriver: string;
    env: string[];
    /** Install this engine version from the distribution's packages (--engine-version). */
    version: string;
    /** How clients reach the engine (--engine-endpoint): its TLS port (default) or SSH only. */
    endpoint: string;
  }>;
  swarm?: Partial<{
    agent: boolean;
    master: boolean;
    image: string;
    discovery: string;
    strategy: string;
    opts: string[];
    joinOpts: string[];
    host: string;
    addr: string;
    experimental: boolean;
    /** New (--swarm-cluster): the Swarm cluster to join or the name of the one to make. */
    cluster: string;
    /**
     * New: another create running now makes this cluster (a fleet's first manager): wait for
     * it, bounded by the wait timeout, instead of failing or making a cluster of its own.
     */
    awaitCluster: boolean;
  }>;
  tlsSANs?: string[];
}

/** Paths of the shared CA and client certificates; the global --tls-* flags override them. */
export interface CertOverrides {
  caCert?: string;
  caKey?: string;
  clientCert?: string;
  clientKey?: string;
}

export function buildHostOptions(
  storeRoot: string,
  name: string,
  opts: CreateOptions,
  certs: CertOverrides = {},
): HostOptions {
  const e = opts.engine ?? {};
  const s = opts.swarm ?? {};
  const engine: EngineOptions = {
    ArbitraryFlags: e.opts ?? [],
    Dns: null,
    GraphDir: '',
    Env: e.env ?? [],
    Ipv6: false,
    InsecureRegistry: e.insecureRegistries ?? [],
    Labels: e.labels ?? [],
    LogLevel: '',
    StorageDriver: e.storageDriver ?? '',
    SelinuxEnabled: false,
    TlsVerify: true,
    RegistryMirror: e.registryMirrors ?? [],
    InstallURL: e.installURL ?? DEFAULT_INSTALL_URL,
    ...(e.version ? { EngineVersion: e.version } : {}),
    ...(e.endpoint === 'ssh' ? { EngineEndpoint: 'ssh' as const } : {}),
  };
  const swarm: SwarmOptions = {
    IsSwarm: !!(s.agent || s.master),
    Address: s.addr ?? '',
    Discovery: s.discovery ?? '',
    Agent: !!s.agent,
    Master: !!s.master,
    Host: s.host ?? DEFAULT_SWARM_HOST,
    Image: s.image ?? DEFAULT_SWARM_IMAGE,
    Strategy: s.strategy ?? DEFAULT_SWARM_STRATEGY,
    Heartbeat: 0,
    Overcommit: 0,
    ArbitraryFlags: s.opts ?? [],
    ArbitraryJoinFlags: s.joinOpts ?? [],
    Env: null,
    IsExperimental: !!s.experimental,
  };
  const certDir = join(storeRoot, 'certs');
  const machineDir = join(storeRoot, 'machines', name);
  const auth: AuthOptions = {
    CertDir: certDir,
    CaCertPath: certs.caCert || join(certDir, 'ca.pem'),
    CaPrivateKeyPath: certs.caKey || join(certDir, 'ca-key.pem'),
    CaCertRemotePath: '',
    ServerCertPath: join(machineDir, 'server.pem'),
    ServerKeyPath: join(machineDir, 'server-key.pem'),
    ClientKeyPath: certs.clientKey || join(certDir, 'key.pem'),
    ServerCertRemotePath: '',
    ServerKeyRemotePath: '',
    ClientCertPath: certs.clientCert || join(certDir, 'cert.pem'),
    ServerCertSANs: opts.tlsSANs ?? [],
    StorePath: machineDir,
  };
  return { Driver: '', Memory: 0, Disk: 0, EngineOptions: engine, SwarmOptions: swarm, AuthOptions: auth };
}
