import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAddressConflict, isFixedAddressRefused } from './address.js';
import { contains, formatCIDR, formatIPv4, lowestFree, parseCIDR, parseIPv4, upperHalf } from './ipv4.js';
import { isPortConflict } from './ports.js';

const ip = (s: string) => parseIPv4(s) as number;

test('IPv4 addresses and subnets parse, format and contain', () => {
  assert.equal(formatIPv4(ip('172.18.0.2')), '172.18.0.2');
  assert.equal(ip('255.255.255.255'), 0xffffffff);
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1.2.3.4.5', ''])
    assert.equal(parseIPv4(bad), undefined);
  const s = parseCIDR('172.18.5.7/16');
  assert.deepEqual(s && formatCIDR(s), '172.18.0.0/16');
  for (const bad of ['172.18.0.0', '172.18.0.0/33', '172.18.0.0/x', 'fd00::/64']) {
    assert.equal(parseCIDR(bad), undefined, bad);
  }
  const net = parseCIDR('10.1.2.0/26')!;
  assert.ok(contains(net, ip('10.1.2.63')));
  assert.ok(!contains(net, ip('10.1.2.64')));
  assert.equal(formatCIDR(upperHalf(net)!), '10.1.2.32/27');
  assert.equal(formatCIDR(upperHalf(parseCIDR('172.18.0.0/16')!)!), '172.18.128.0/17');
  assert.equal(upperHalf(parseCIDR('10.1.2.0/29')!), undefined);
});

test('the lowest free address: past the used ones, outside the dynamic range while it can', () => {
  const net = parseCIDR('10.1.2.0/26')!;
  const range = upperHalf(net);
  const pick = (used: string[]) => {
    const r = lowestFree(net, new Set(used.map(ip)), range);
    return r === undefined ? undefined : formatIPv4(r);
  };
  assert.equal(pick(['10.1.2.1']), '10.1.2.2');
  assert.equal(pick(['10.1.2.1', '10.1.2.2', '10.1.2.4']), '10.1.2.3');
  // The lower half full (.1 to .31): the dynamic range is used, never the broadcast address.
  const lower = Array.from({ length: 31 }, (_, i) => `10.1.2.${i + 1}`);
  assert.equal(pick(lower), '10.1.2.32');
  const all = Array.from({ length: 62 }, (_, i) => `10.1.2.${i + 1}`);
  assert.equal(pick(all), undefined);
  assert.equal(pick(all.slice(0, -1)), '10.1.2.62');
  // No dynamic range: simply the lowest.
  assert.equal(formatIPv4(lowestFree(net, new Set([ip('10.1.2.1')]))!), '10.1.2.2');
  assert.equal(lowestFree(parseCIDR('10.1.2.0/31')!, new Set()), undefined);
});

test("the engine's address refusals are told apart from a host port's", () => {
  assert.ok(isAddressConflict('Address already in use'));
  assert.ok(isAddressConflict('Error response from daemon: Address already in use'));
  const port =
    'driver failed programming external connectivity on endpoint m1 (x): Error starting userland proxy: listen tcp4 127.0.0.1:4000: bind: address already in use';
  assert.ok(!isAddressConflict(port));
  assert.ok(isPortConflict(port));
  assert.ok(
    isFixedAddressRefused(
      'user specified IP address is supported only when connecting to networks with user configured subnets',
    ),
  );
});
