import { isIPv4 } from 'node:net';
import { childrenNamed, childText, type XNode } from './soap/xml.js';

/**
 * The VM's address from VMware Tools (guest.net): as the original chose it, a global-unicast
 * IPv4 that is not Docker's bridge (172.17.0.1), from the NICs' ipConfig and their address lists;
 * '' while Tools report none.
 */
export function guestAddress(net: XNode | undefined): string {
  const seen: string[] = [];
  for (const nic of net?.children ?? []) {
    for (const a of childrenNamed(childrenNamed(nic, 'ipConfig')[0], 'ipAddress'))
      seen.push(childText(a, 'ipAddress'));
    for (const a of childrenNamed(nic, 'ipAddress')) seen.push(a.text.trim());
  }
  return seen.find(usable) ?? '';
}

function usable(ip: string): boolean {
  if (!isIPv4(ip) || ip === '172.17.0.1') return false;
  const [a, b] = ip.split('.').map(Number);
  // Not unspecified, loopback, link-local or multicast: what Go's IsGlobalUnicast leaves out.
  return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224);
}
