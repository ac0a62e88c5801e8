import type { EngineClient } from '../engine/client.js';

/**
 * Swarm mode through one engine's API (the endpoints `docker swarm` and `docker node` use), over
 * the machine's TLS connection. Every engine has these built in: a cluster needs nothing else.
 */

export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

/** GET /info's Swarm object: this engine's own view of its membership. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Managers?: number;
  Nodes?: number;
  Cluster?: { ID: string };
}

export type NodeRole = 'manager' | 'worker';
export type Availability = 'active' | 'pause' | 'drain';

export interface NodeSpec {
  Name?: string;
  Labels?: Record<string, string>;
  Role: NodeRole;
  Availability: Availability;
}

/** GET /nodes: a node as the managers know it. */
export interface NodeInfo {
  ID: string;
  Version: { Index: number };
  Spec: NodeSpec;
  Description?: { Hostname?: string };
  Status: { State: 'unknown' | 'down' | 'ready' | 'disconnected'; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability: 'unknown' | 'unreachable' | 'reachable'; Addr: string };
}

export interface TaskInfo {
  ID: string;
  NodeID?: string;
  ServiceID: string;
  DesiredState: string;
  Status: { State: string };
}

/** POST /swarm/init's body (the fields --swarm-opt may set, plus the addresses). */
export interface InitRequest {
  ListenAddr: string;
  AdvertiseAddr: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
  ForceNewCluster?: boolean;
  Availability?: Availability;
  Spec?: Record<string, unknown>;
}

/** POST /swarm/join's body. */
export interface JoinRequest {
  ListenAddr: string;
  AdvertiseAddr: string;
  DataPathAddr?: string;
  Availability?: Availability;
  RemoteAddrs: string[];
  JoinToken: string;
}

export class SwarmEngine {
  constructor(readonly client: EngineClient) {}

  get url(): string {
    return this.client.url;
  }

  async info(signal?: AbortSignal): Promise<SwarmInfo> {
    const info = (await this.client.info(signal)) as { Swarm?: SwarmInfo };
    return (
      info.Swarm ?? {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      }
    );
  }

  /** The cluster as a manager sees it, with its join tokens (managers only). */
  async inspect(): Promise<{ ID: string; JoinTokens: { Worker: string; Manager: string } }> {
    return (await this.client.request('GET', '/swarm')).json() as {
      ID: string;
      JoinTokens: { Worker: string; Manager: string };
    };
  }

  /** Returns the new node's ID. */
  async init(req: InitRequest): Promise<string> {
    return (await this.client.request('POST', '/swarm/init', req)).json() as string;
  }

  async join(req: JoinRequest): Promise<void> {
    await this.client.request('POST', '/swarm/join', req);
  }

  async leave(force: boolean): Promise<void> {
    await this.client.request('POST', `/swarm/leave?force=${force}`);
  }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.client.request('GET', '/nodes')).json() as NodeInfo[];
  }

  async node(id: string): Promise<NodeInfo> {
    return (await this.client.request('GET', `/nodes/${encodeURIComponent(id)}`)).json() as NodeInfo;
  }

  /** Change a node's spec; `change` gets the current spec (the update must name its version). */
  async updateNode(id: string, change: (spec: NodeSpec) => NodeSpec): Promise<void> {
    const n = await this.node(id);
    await this.client.request(
      'POST',
      `/nodes/${encodeURIComponent(id)}/update?version=${n.Version.Index}`,
      change(structuredClone(n.Spec)),
    );
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    await this.client.request('DELETE', `/nodes/${encodeURIComponent(id)}?force=${force}`);
  }

  /** Tasks the node is to run (what a drain moves away). */
  async runningTasks(nodeId: string): Promise<TaskInfo[]> {
    const filters = encodeURIComponent(JSON.stringify({ node: [nodeId], 'desired-state': ['running'] }));
    return (await this.client.request('GET', `/tasks?filters=${filters}`)).json() as TaskInfo[];
  }
}
