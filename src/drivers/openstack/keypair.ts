import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { DriverContext } from '../driver.js';
import { getNamed } from './api.js';
import { novaOf, type OpenStackMachine } from './machine.js';

/**
 * The server's key pair: the user's own (--openstack-keypair-name with its private key file),
 * or one generated for this machine and recorded, which rm deletes.
 */

/** A key pair named by --openstack-keypair-name must be in the project before anything is made. */
export async function checkKeyPair(m: OpenStackMachine, nova: CloudConnection): Promise<void> {
  const kp = str(m.json, 'KeyPairName');
  if (!kp) return;
  await getNamed(
    nova,
    `os-keypairs/${encodeURIComponent(kp)}`,
    `key pair ${kp} (--openstack-keypair-name) does not exist in this project`,
  );
}

export async function createKeyPair(m: OpenStackMachine, ctx: DriverContext, ledger: Ledger): Promise<void> {
  const dest = join(str(m.json, 'StorePath'), 'machines', m.name, 'id_rsa');
  const nova = await novaOf(m, ctx);
  const given = str(m.json, 'KeyPairName');
  if (given) {
    // The user's own key pair: its private key is copied, its public key is the project's.
    const b = await nova.get<{ keypair?: { public_key?: string } }>(
      `os-keypairs/${encodeURIComponent(given)}`,
    );
    await copyFile(str(m.json, 'PrivateKeyFile'), dest);
    await chmod(dest, 0o600);
    if (b?.keypair?.public_key) await writeFile(`${dest}.pub`, `${b.keypair.public_key.trim()}\n`);
    m.set({ SSHKeyPath: dest });
    await ctx.save();
    return;
  }
  const { generateSSHKeyPair } = await import('../../ssh/keys.js');
  const { publicLine } = await generateSSHKeyPair(dest);
  const name = `${m.name}-${m.tag}`.replace(/\./g, '_');
  m.set({ SSHKeyPath: dest });
  const entry = await ledger.intend('keypair', { by: 'name', value: name }, `key pair ${name}`);
  await nova.post('os-keypairs', { keypair: { name, public_key: publicLine.trim() } });
  await ledger.made(entry, name);
  m.set({ KeyPairName: name, KeyPairMade: true });
  await ctx.save();
}

export function keyPairKind(nova: () => Promise<CloudConnection>): ResourceKind {
  return {
    lookup: async (f) => {
      const b = await (await nova()).get<{ keypairs?: { keypair: { name: string } }[] }>('os-keypairs');
      return (b?.keypairs ?? []).map((k) => k.keypair.name).filter((n) => n === f.value);
    },
    delete: async (name) => (await nova()).delete(`os-keypairs/${encodeURIComponent(name)}`),
    byHand: (name) => `openstack keypair delete ${name}`,
  };
}
