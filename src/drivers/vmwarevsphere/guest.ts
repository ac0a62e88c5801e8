import { isIPv4 } from 'node:net';
import { MachineError } from '../../errors.js';
import { num } from '../base.js';
import type { DriverContext } from '../driver.js';
import { sleep, type VSphereMachine } from './machine.js';
import { textOf } from './soap/client.js';
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

/** VMware Tools' address for the VM, waited for within --vmwarevsphere-ip-timeout. */
export async function waitForGuestAddress(m: VSphereMachine, ctx: DriverContext): Promise<string> {
  const vm = m.vm;
  if (!vm) throw new MachineError(`machine "${m.name}" has no VM`);
  const timeoutS = num(m.json, 'IPTimeout') || 600;
  const started = Date.now();
  let last = '';
  ctx.log(`Waiting for VMware Tools to report the address of ${m.label()}...`);
  return m.session(ctx, async (c) => {
    for (;;) {
      const p = await c.props(vm, ['guest.net', 'guest.toolsRunningStatus', 'runtime.powerState']);
      const ip = guestAddress(p['guest.net']);
      if (ip) return ip;
      last = `Tools ${textOf(p['guest.toolsRunningStatus']) || 'not reporting'}, VM ${textOf(p['runtime.powerState'])}`;
      const waited = (Date.now() - started) / 1000;
      if (waited + m.pollMs / 1000 > timeoutS)
        throw new MachineError(
          `Waited ${Math.round(waited)} s for VMware Tools to report an address of ${m.label()} (--vmwarevsphere-ip-timeout ${timeoutS}); last seen: ${last}. Is open-vm-tools in the image, and is there DHCP on its network?`,
        );
      if (ctx.signal?.aborted) throw new MachineError('interrupted before it finished');
      await sleep(m.pollMs);
    }
  });
}
