/**
 * The data of config.json (ConfigVersion 3), field for field in the order the original writes
 * them, so that a file we save is byte-identical to one the original would save.
 */

export const CONFIG_VERSION = 3;

/** The driver's own JSON object, kept as read so that fields we do not know survive a save. */
export type DriverJSON = Record<string, unknown>;

export interface EngineOptions {
  ArbitraryFlags: string[];
  Dns: string[] | null;
  GraphDir: string;
  Env: string[];
  Ipv6: boolean;
  InsecureRegistry: string[];
  Labels: string[];
  LogLevel: string;
  StorageDriver: string;
  SelinuxEnabled: boolean;
  TlsVerify: boolean;
  RegistryMirror: string[];
  InstallURL: string;
  /**
   * New (--engine-version): the engine version to install from the distribution's packages.
   * Written only when set, after the original's fields; the original ignores it.
   */
  EngineVersion?: string;
  /**
   * New (--engine-endpoint): how clients reach the engine. "ssh": the engine listens only on its
   * unix socket and is reached through the machine's SSH. Written only for "ssh"; a config
   * without it (every original store) is "tcp", the TLS port.
   */
  EngineEndpoint?: EngineEndpointKind;
}

export type EngineEndpointKind = 'tcp' | 'ssh';

export interface SwarmOptions {
  IsSwarm: boolean;
  Address: string;
  Discovery: string;
  Agent: boolean;
  Master: boolean;
  Host: string;
  Image: string;
  Strategy: string;
  Heartbeat: number;
  Overcommit: number;
  ArbitraryFlags: string[];
  ArbitraryJoinFlags: string[];
  Env: string[] | null;
  IsExperimental: boolean;
  /**
   * New, Swarm mode (written only for machines that are in a cluster, after the original's
   * fields, which the original's reader ignores): the role the machine took at create. With it,
   * Discovery holds the cluster's name, as the original's Discovery named a master's cluster.
   */
  Role?: SwarmRole;
  /** The cluster's ID as its managers report it. */
  ClusterID?: string;
  /** The machine's node ID in the cluster. */
  NodeID?: string;
  /** The address:port the node advertises to the others. */
  AdvertiseAddr?: string;
}

export type SwarmRole = 'manager' | 'worker';

export interface AuthOptions {
  CertDir: string;
  CaCertPath: string;
  CaPrivateKeyPath: string;
  CaCertRemotePath: string;
  ServerCertPath: string;
  ServerKeyPath: string;
  ClientKeyPath: string;
  ServerCertRemotePath: string;
  ServerKeyRemotePath: string;
  ClientCertPath: string;
  ServerCertSANs: string[];
  StorePath: string;
}

export interface HostOptions {
  Driver: string;
  Memory: number;
  Disk: number;
  EngineOptions: EngineOptions;
  SwarmOptions: SwarmOptions;
  AuthOptions: AuthOptions;
}

export interface HostConfig {
  ConfigVersion: number;
  Driver: DriverJSON;
  DriverName: string;
  HostOptions: HostOptions;
  Name: string;
}

/** Fields every driver's JSON starts with (libmachine's BaseDriver), in the original's order. */
export interface BaseDriverFields {
  IPAddress: string;
  MachineName: string;
  SSHUser: string;
  SSHPort: number;
  SSHKeyPath: string;
  StorePath: string;
  SwarmMaster: boolean;
  SwarmHost: string;
  SwarmDiscovery: string;
  /**
   * Ours, only for an SSH-only engine ("ssh"): drivers with firewalls then leave the engine's
   * port closed. The machine's HostOptions.EngineOptions.EngineEndpoint is what clients go by.
   */
  EngineEndpoint?: 'ssh';
}

export const DEFAULT_INSTALL_URL = 'https://get.docker.com';
export const DEFAULT_SWARM_HOST = 'tcp://0.0.0.0:3376';
export const DEFAULT_SWARM_IMAGE = 'swarm:latest';
export const DEFAULT_SWARM_STRATEGY = 'spread';
