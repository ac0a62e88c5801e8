/** The fake OpenStack's configuration and state, shared by its Keystone, Nova, Neutron, Glance and Cinder parts. */

export type Obj = Record<string, unknown>;
export type Interface = 'public' | 'internal' | 'admin';
export type ServiceType = 'identity' | 'compute' | 'network' | 'image' | 'volumev3';

export interface DomainSpec {
  id: string;
  name: string;
}
export interface UserSpec {
  id: string;
  name: string;
  /** The id of the user's domain. */
  domainId: string;
  password: string;
  /** Projects the user has a role on; all of them when absent. */
  projects?: string[];
  /** Scoped to this project when a password request asks for no scope. */
  defaultProjectId?: string;
  /** Has the admin role: sees Nova's admin-only server fields, may ask for a system scope. */
  admin?: boolean;
  enabled?: boolean;
  passwordExpiresAt?: string;
}
export interface ProjectSpec {
  id: string;
  name: string;
  domainId: string;
}
export interface AppCredentialSpec {
  id: string;
  name: string;
  secret: string;
  userId: string;
  projectId: string;
  restricted?: boolean;
  expiresAt?: number;
}
export interface Identity {
  domains: DomainSpec[];
  users: UserSpec[];
  projects: ProjectSpec[];
  applicationCredentials: AppCredentialSpec[];
}

export interface Token {
  id: string;
  userId: string;
  methods: string[];
  projectId?: string;
  domainId?: string;
  system?: boolean;
  appCredentialId?: string;
  issuedAt: number;
  expiresAt: number;
  auditId: string;
  revoked?: boolean;
}

export interface FlavorSpec {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral?: number;
  swap?: number;
  isPublic?: boolean;
  disabled?: boolean;
}
export interface ImageSpec {
  id: string;
  name: string;
  /** Glance's status: active, or queued/saving/killed/deactivated (Nova refuses to boot those). */
  status?: string;
  minDisk?: number;
  minRam?: number;
  sizeBytes?: number;
  visibility?: 'public' | 'private' | 'shared' | 'community';
}
export interface NetworkSpec {
  id: string;
  name: string;
  /** router:external: a floating-IP pool, not for servers' ports. */
  external?: boolean;
  shared?: boolean;
  /** Owner; the first project when absent. External and shared networks are visible to all. */
  projectId?: string;
  cidr?: string;
  /** Also an IPv6 subnet (2001:db8:<n>::/64), so servers get a v6 fixed address too. */
  ipv6?: boolean;
}

/** Which address to hand out: for a server's port (fixed) or for a floating IP. */
export interface AddressRequest {
  kind: 'fixed' | 'floating';
  region: string;
  network: string;
  serverId?: string;
  serverName?: string;
}
export type AddressSource = string[] | ((req: AddressRequest) => string);

export type ServerAction = 'os-start' | 'os-stop' | 'reboot' | 'delete';

/** What a server was made with: what cloud-init would find in the metadata service or config drive. */
export interface ServerInfo {
  id: string;
  name: string;
  region: string;
  projectId: string;
  keyName: string | null;
  publicKey: string | null;
  /** user_data decoded from base64 (null when none was given). */
  userData: string | null;
  configDrive: boolean;
  metadata: Record<string, string>;
  availabilityZone: string;
  flavorId: string;
  imageId: string;
  networks: string[];
  securityGroups: string[];
  schedulerHints: Obj;
}

export interface Quotas {
  instances: number;
  cores: number;
  ram: number;
  key_pairs: number;
  server_groups: number;
  floatingip: number;
  security_group: number;
  security_group_rule: number;
  port: number;
  volumes: number;
  gigabytes: number;
}

/** A request that changed state, as the hold hook and the 'mutation' event see it. */
export interface Mutation {
  method: string;
  /** The path as the client sent it (without the query). */
  path: string;
  service: string;
  status: number;
  /** The kind of resource it made or changed (server, keypair, floatingip, ...), when known. */
  kind?: string;
  id?: string;
}

export interface RequestRecord {
  at: number;
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  service: 'identity' | 'compute' | 'network' | 'image' | 'volume' | 'unknown';
  region?: string;
  interface?: Interface;
  /** The compute microversion asked for (header), when one was. */
  microversion?: string;
  /** The request's JSON body, when it had one. */
  body?: unknown;
  status: number;
}

export interface ServerState {
  id: string;
  region: string;
  projectId: string;
  userId: string;
  name: string;
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
  /** GETs left before a pending transition completes. */
  pollsLeft: number;
  /** What completes on the next transition: active (build), stopped, active (start/reboot), deleted. */
  pending: 'build' | 'stop' | 'start' | 'reboot' | 'delete' | null;
  /** The result of the build: ERROR leaves the server in ERROR with a fault. */
  buildResult: 'ACTIVE' | 'ERROR';
  fault?: { code: number; message: string; created: string };
  info: ServerInfo;
  flavorId: string;
  imageId: string;
  keyName: string | null;
  metadata: Record<string, string>;
  accessIPv4: string;
  accessIPv6: string;
  diskConfig: string;
  availabilityZone: string;
  configDrive: boolean;
  securityGroups: string[];
  /** Neutron port ids made for the server, in order. */
  ports: string[];
  /** Cinder volumes attached, with what happens to each when the server goes. */
  volumes: { id: string; deleteOnTermination: boolean }[];
  serverGroupId?: string;
  created: string;
  updated: string;
  launchedAt: string | null;
  hostId: string;
  instanceName: string;
  adminPass: string;
}

export interface KeypairState {
  region: string;
  userId: string;
  name: string;
  publicKey: string;
  fingerprint: string;
  type: string;
  created: string;
  id: number;
}

export interface NetworkState {
  id: string;
  region: string;
  name: string;
  projectId: string;
  external: boolean;
  shared: boolean;
  subnets: { id: string; cidr: string; version: 4 | 6; gateway: string; next: number }[];
}

export interface PortState {
  id: string;
  region: string;
  projectId: string;
  networkId: string;
  deviceId: string;
  deviceOwner: string;
  mac: string;
  fixedIps: { subnet_id: string; ip_address: string }[];
  securityGroups: string[];
  status: 'DOWN' | 'ACTIVE' | 'BUILD';
  name: string;
  created: string;
}

export interface FloatingIpState {
  id: string;
  region: string;
  projectId: string;
  networkId: string;
  address: string;
  portId: string | null;
  fixedIp: string | null;
  description: string;
  created: string;
  updated: string;
  revision: number;
}

export interface SecurityGroupRuleState {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
  project_id: string;
  created_at: string;
}

export interface SecurityGroupState {
  id: string;
  region: string;
  projectId: string;
  name: string;
  description: string;
  rules: SecurityGroupRuleState[];
  created: string;
}

export interface VolumeState {
  id: string;
  region: string;
  projectId: string;
  name: string;
  size: number;
  status: string;
  volumeType: string;
  imageId: string | null;
  bootable: boolean;
  attachedTo: string | null;
  device: string | null;
  created: string;
}

export interface ServerGroupState {
  id: string;
  region: string;
  projectId: string;
  userId: string;
  name: string;
  policies: string[];
  members: string[];
}
