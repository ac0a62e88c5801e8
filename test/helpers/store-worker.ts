/**
 * A child process for the store's fault and concurrency tests. Usage:
 *   store-worker.ts STORE write-loop NAME            rewrite NAME's config.json forever (killed by the test)
 *   store-worker.ts STORE create NAME                claim + save a new machine
 *   store-worker.ts STORE rm NAME                    remove a machine under its lock
 *   store-worker.ts STORE increment NAME N           N locked read-modify-write increments of a counter label
 */
import { Store } from '../../src/store/store.js';
import { hostFor } from './hosts.js';

const [root, op, name, arg] = process.argv.slice(2);
const store = new Store(root);

async function main(): Promise<void> {
  switch (op) {
    case 'write-loop': {
      // Each version carries a large label list so that a write takes long enough to be cut.
      for (let i = 1; ; i++) {
        const labels = Array.from({ length: 2000 }, (_, j) => `version=${i}-${j}`);
        await store.save(hostFor(root, name, labels));
        process.stdout.write(`${i}\n`);
      }
    }
    case 'create':
      await store.claim(name);
      await store.save(hostFor(root, name));
      return;
    case 'rm':
      await store.withLock(name, () => store.remove(name));
      return;
    case 'increment':
      for (let i = 0; i < Number(arg); i++) {
        await store.withLock(name, async () => {
          const h = await store.load(name);
          const n = Number(h.HostOptions.EngineOptions.Labels[0]?.split('=')[1] ?? 0);
          h.HostOptions.EngineOptions.Labels = [`count=${n + 1}`];
          await store.save(h);
        });
      }
      return;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
