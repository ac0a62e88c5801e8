import type { DriverJSON } from '../../store/host.js';
import { bool, str } from '../base.js';

/**
 * Swarm mode's traffic between nodes, managers and workers alike: node gossip (7946, TCP and UDP)
 * and overlay networks' VXLAN (4789, UDP). A cloud firewall that closes them splits the swarm:
 * nodes are marked down and overlay networks do not reach across machines.
 */
export const SWARM_NODE_PORTS: readonly { port: number; proto: 'tcp' | 'udp' }[] = [
  { port: 7946, proto: 'tcp' },
  { port: 7946, proto: 'udp' },
  { port: 4789, proto: 'udp' },
];

/** A machine created into a swarm (--swarm or --swarm-master): create gave its driver the role. */
export function isSwarmMember(json: DriverJSON): boolean {
  return bool(json, 'SwarmMaster') || str(json, 'SwarmHost') !== '';
}
