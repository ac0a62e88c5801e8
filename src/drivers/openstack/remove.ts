import { str } from '../base.js';
import type { LedgerEntry, ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import { floatingIPKinds } from './floating-ip.js';
import { keyPairKind } from './keypair.js';
import { neutronOf, novaOf, type OpenStackMachine } from './machine.js';
import { securityGroupKind } from './security-group.js';
import { serverKind } from './server.js';
import { volumeKind } from './volumes.js';

/** What rm deletes: each kind of resource create records, and what a machine of the original made. */

export function resourceKinds(m: OpenStackMachine, ctx: DriverContext): Record<string, ResourceKind> {
  const nova = () => novaOf(m, ctx);
  const neutron = () => neutronOf(m, ctx);
  const cinder = async () => (await m.api(ctx)).conn('volume');
  return {
    ...floatingIPKinds(nova, neutron),
    server: serverKind(nova, m.name, m.timeoutMs, m.pollMs),
    security_group: securityGroupKind(neutron),
    volume: volumeKind(cinder, m.timeoutMs, m.pollMs),
    keypair: keyPairKind(nova),
  };
}

/**
 * A machine the original made has no ledger: its server (MachineId) and the key pair it
 * generated (not one given with --openstack-private-key-file) are what it made, as its rm
 * deleted them. A floating IP it allocated was never recorded, so it stays, as with the original.
 */
export function originalLedger(m: OpenStackMachine): LedgerEntry[] {
  const kp = str(m.json, 'KeyPairName');
  return [
    ...(kp && !str(m.json, 'PrivateKeyFile')
      ? [{ kind: 'keypair', id: kp, find: { by: 'name', value: kp }, label: `key pair ${kp}` }]
      : []),
    { kind: 'server', id: m.serverId, find: { by: 'id', value: m.serverId }, label: `server ${m.name}` },
  ];
}
