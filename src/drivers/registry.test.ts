import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRetiredDriver, loadDriver, RETIRED_DRIVER_NAMES } from './registry.js';
import { retiredDrivers } from './retired/index.js';

test('the registry names the same retired drivers as their module, which it reads only when asked', async () => {
  assert.deepEqual([...RETIRED_DRIVER_NAMES].sort(), Object.keys(retiredDrivers).sort());
  for (const name of RETIRED_DRIVER_NAMES) {
    assert.ok(isRetiredDriver(name));
    const mod = await loadDriver(name);
    assert.equal(mod.name, name);
    assert.deepEqual(mod.flags, retiredDrivers[name].flags);
  }
  assert.equal(isRetiredDriver('generic'), false);
});
