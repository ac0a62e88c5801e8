import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  allowedRanges,
  chooseHostOnlyCIDR,
  dhcpRange,
  insideRanges,
  parseCIDR,
  parseNetworksConf,
  staticAddresses,
} from './hostonly.js';

const cidr = (s: string) => parseCIDR(s) ?? assert.fail(s);

test('networks.conf: the IPv4 ranges of its * lines; comments and IPv6 left out', () => {
  const r = parseNetworksConf(
    '# allowed\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n\nnot a rule 1.2.3.0/24\n*172.16.5.9/12 # c\n',
  );
  assert.deepEqual(
    r.map((x) => [x.ip >>> 24, x.prefix]),
    [
      [10, 8],
      [192, 16],
      [172, 12],
    ],
  );
  // A range given with host bits counts from its network address.
  assert.ok(insideRanges(cidr('172.16.1.1/24'), r));
});

test('the rule: inside 192.168.56.0/21 without the file, inside its ranges with it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vbox-nets-'));
  try {
    const conf = join(dir, 'networks.conf');
    const none = allowedRanges({ MACHINE_VIRTUALBOX_NETWORKS_CONF: conf });
    assert.equal(none.source, `VirtualBox's default, as ${conf} does not exist`);
    assert.ok(insideRanges(cidr('192.168.56.1/24'), none.ranges));
    assert.ok(insideRanges(cidr('192.168.63.1/24'), none.ranges));
    assert.ok(!insideRanges(cidr('192.168.64.1/24'), none.ranges));
    assert.ok(!insideRanges(cidr('192.168.99.1/24'), none.ranges));
    // A network larger than the range is not inside it.
    assert.ok(!insideRanges(cidr('192.168.56.1/20'), none.ranges));
    // The default: the original's 192.168.99.1/24 is not allowed, so ours inside the range.
    assert.equal(chooseHostOnlyCIDR('', none), '192.168.59.1/24');
    assert.equal(chooseHostOnlyCIDR('192.168.57.1/24', none), '192.168.57.1/24');
    assert.throws(
      () => chooseHostOnlyCIDR('192.168.99.1/24', none),
      (err: Error) =>
        err.message ===
        `--virtualbox-hostonly-cidr 192.168.99.1/24 is outside the host-only ranges VirtualBox allows (192.168.56.0/21: VirtualBox's default, as ${conf} does not exist); choose one inside them, or add "* 192.168.99.0/24" to ${conf}`,
    );
    assert.throws(
      () => chooseHostOnlyCIDR('192.168.59.0/24', none),
      /must be specified with a host address, not a network address/,
    );
    assert.throws(() => chooseHostOnlyCIDR('192.168.59.255/24', none), /host address/);
    assert.throws(() => chooseHostOnlyCIDR('192.168.59.1/31', none), /prefix of 8 to 30 bits/);

    await writeFile(conf, '* 192.168.99.0/24 10.20.0.0/16\n');
    const listed = allowedRanges({ MACHINE_VIRTUALBOX_NETWORKS_CONF: conf });
    assert.equal(listed.source, `listed in ${conf}`);
    // Where the file allows it, the original's default.
    assert.equal(chooseHostOnlyCIDR('', listed), '192.168.99.1/24');
    assert.equal(chooseHostOnlyCIDR('10.20.3.1/24', listed), '10.20.3.1/24');
    // The file replaces the default range.
    assert.throws(() => chooseHostOnlyCIDR('192.168.56.1/24', listed), /outside the host-only ranges/);

    await writeFile(conf, '* 10.20.0.0/16\n');
    assert.equal(
      chooseHostOnlyCIDR('', allowedRanges({ MACHINE_VIRTUALBOX_NETWORKS_CONF: conf })),
      '10.20.0.1/24',
    );
    await writeFile(conf, '# nothing allowed\n');
    assert.throws(
      () => chooseHostOnlyCIDR('', allowedRanges({ MACHINE_VIRTUALBOX_NETWORKS_CONF: conf })),
      /no host-only network can be chosen/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the DHCP server's range as the original's, and the static addresses below it", () => {
  assert.deepEqual(dhcpRange('192.168.59.1/24'), {
    server: '192.168.59.100',
    lower: '192.168.59.101',
    upper: '192.168.59.254',
    netmask: '255.255.255.0',
  });
  const s = staticAddresses('192.168.59.1/24');
  assert.equal(s[0], '192.168.59.2');
  assert.equal(s.at(-1), '192.168.59.99');
  assert.equal(s.includes('192.168.59.1'), false);
  assert.equal(s.length, 98);
  // The host's address elsewhere in the network is skipped too.
  assert.equal(staticAddresses('10.0.0.5/24').includes('10.0.0.5'), false);
});
