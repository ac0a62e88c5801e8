import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazy } from './lazy.js';

test('a lazy fixture starts once, on first use; stop ends only one that started', async () => {
  const events: string[] = [];
  const unused = lazy(
    async () => events.push('start unused'),
    async () => void events.push('stop unused'),
  );
  await unused.stop();

  let n = 0;
  const used = lazy(
    async () => ++n,
    async (v) => void events.push(`stop ${v}`),
  );
  assert.deepEqual(await Promise.all([used.get(), used.get()]), [1, 1]);
  assert.equal(await used.get(), 1);
  await used.stop();

  const failed = lazy<number>(
    async () => {
      throw new Error('no rig');
    },
    async () => void events.push('stop failed'),
  );
  await assert.rejects(failed.get(), /no rig/);
  await failed.stop();
  assert.deepEqual(events, ['stop 1']);
});
