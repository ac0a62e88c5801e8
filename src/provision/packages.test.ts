import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseOsRelease } from './os-release.js';
import { apt, dnf, pacman, zypper } from './packages.js';
import { detectProvisioner } from './provisioner.js';
import { checkEngineVersion, compareVersions, parseDockerdVersion, versionMatches } from './versions.js';

describe('engine versions', () => {
  test('a pin names versions at a boundary, with or without epoch and package revision', () => {
    assert.ok(versionMatches('20.10.24', '20.10.24+dfsg1'));
    assert.ok(versionMatches('20.10', '20.10.24+dfsg1-1+deb12u1+b6'));
    assert.ok(versionMatches('20.10.24+dfsg1-1+b3', '20.10.24+dfsg1'));
    assert.ok(versionMatches('24.0.7', '3:24.0.7-1.el9'));
    assert.ok(versionMatches('24.0.7', '24.0.7_ce-150000.190.4'));
    assert.ok(!versionMatches('20.10.2', '20.10.24+dfsg1'));
    assert.ok(!versionMatches('24.0.7', '20.10.24'));
  });

  test('package version order: numbers as numbers, ~ first, epoch wins', () => {
    const sorted = [
      '24.0.10-1',
      '24.0.9-1',
      '24.0.7~rc1-1',
      '24.0.7-1',
      '1:20.10.0-1',
      '24.0.7-1+b2',
      '24.0.7-1+b10',
    ].sort(compareVersions);
    assert.deepEqual(sorted, [
      '24.0.7~rc1-1',
      '24.0.7-1',
      '24.0.7-1+b2',
      '24.0.7-1+b10',
      '24.0.9-1',
      '24.0.10-1',
      '1:20.10.0-1',
    ]);
  });

  test('dockerd --version and what a user may pin', () => {
    assert.equal(parseDockerdVersion('Docker version 20.10.24+dfsg1, build 297e128'), '20.10.24+dfsg1');
    assert.equal(parseDockerdVersion('Docker version 24.0.7-ce, build 311b9ff0aa93'), '24.0.7-ce');
    checkEngineVersion('24.0.7');
    checkEngineVersion('3:24.0.7-1.el9');
    for (const bad of ['', '24.0 7', "24'", '$(reboot)', '-1']) {
      assert.throws(() => checkEngineVersion(bad), /^MachineError: Invalid --engine-version /);
    }
  });
});

describe('package manager output', () => {
  test('apt-cache madison, apt-cache policy, dpkg-query -S', () => {
    const out =
      '  docker.io | 20.10.24+dfsg1-1+deb12u1+b6 | http://deb.debian.org/debian bookworm/main amd64 Packages\n' +
      '  docker.io | 20.10.24+dfsg1-1+b3 | http://172.30.1.1:4567 ./ Packages\n' +
      '  docker.io | 20.10.24+dfsg1-1+b3 | http://deb.debian.org/debian bookworm/main Sources\n';
    assert.deepEqual(apt.parseVersions(out, 'docker.io'), [
      {
        version: '20.10.24+dfsg1-1+deb12u1+b6',
        source: 'http://deb.debian.org/debian bookworm/main amd64 Packages',
      },
      { version: '20.10.24+dfsg1-1+b3', source: 'http://172.30.1.1:4567 ./ Packages' },
      { version: '20.10.24+dfsg1-1+b3', source: 'http://deb.debian.org/debian bookworm/main Sources' },
    ]);
    const policy =
      'Package files:\n 100 /var/lib/dpkg/status\n     release a=now\n 500 http://172.30.1.1:4567 ./ Packages\n     release c=\nPinned packages:\n';
    assert.deepEqual(apt.parseSources(policy), ['http://172.30.1.1:4567 ./ Packages']);
    assert.equal(apt.parseOwner('docker.io: /usr/sbin/dockerd\n'), 'docker.io');
    assert.equal(apt.parseOwner('docker-ce:amd64: /usr/bin/dockerd\n'), 'docker-ce');
  });

  test('dnf list --showduplicates, zypper se -s, pacman -Si', () => {
    const listed =
      'Installed Packages\nmoby-engine.x86_64     20.10.23-1.fc39     @fedora\nAvailable Packages\n' +
      'moby-engine.x86_64     24.0.5-1.fc39       updates\ndocker-ce.x86_64   3:25.0.3-1.el9   docker-ce-stable\n';
    assert.deepEqual(dnf.parseVersions(listed, 'moby-engine'), [
      { version: '20.10.23-1.fc39', source: 'fedora' },
      { version: '24.0.5-1.fc39', source: 'updates' },
    ]);
    assert.deepEqual(
      dnf.parseSources('repo id     repo name\nfedora      Fedora 39 - x86_64\nupdates  Updates\n'),
      ['fedora', 'updates'],
    );
    const zyp =
      'S  | Name   | Type    | Version                | Arch   | Repository\n' +
      '---+--------+---------+------------------------+--------+------------------------\n' +
      'i+ | docker | package | 24.0.7_ce-150000.190.4 | x86_64 | SLE-Module-Containers15-SP5-Updates\n' +
      'v  | docker | srcpackage | 24.0.7_ce-150000.190.4 | noarch | SLE-Module-Containers15-SP5-Updates\n';
    assert.deepEqual(zypper.parseVersions(zyp, 'docker'), [
      { version: '24.0.7_ce-150000.190.4', source: 'SLE-Module-Containers15-SP5-Updates' },
    ]);
    const si =
      'Repository      : extra\nName            : docker\nVersion         : 1:24.0.7-1\nDescription     : x\n';
    assert.deepEqual(pacman.parseVersions(si, 'docker'), [{ version: '1:24.0.7-1', source: 'extra' }]);
  });
});

describe('OS detection', () => {
  const detect = (text: string) => detectProvisioner(parseOsRelease(text)).name;
  test('by ID, VARIANT_ID and ID_LIKE, as the spec lists them (§5.1)', () => {
    assert.equal(detect('ID=ubuntu\nVERSION_ID="22.04"'), 'ubuntu(systemd)');
    assert.equal(detect('ID=debian\nVERSION_ID="12"'), 'debian');
    assert.equal(detect('ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"'), 'redhat');
    assert.equal(detect('ID=fedora\nVERSION_ID=39\nVARIANT_ID=coreos'), 'fedora-coreos');
    assert.equal(detect('ID=fedora\nVERSION_ID=39\nVARIANT_ID=server'), 'fedora');
    assert.equal(detect('ID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"'), 'amazon');
    assert.equal(detect('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"'), 'SUSE');
    assert.equal(detect('ID=manjaro\nID_LIKE=arch'), 'arch');
    assert.equal(detect('ID=flatcar\nID_LIKE=coreos'), 'flatcar');
    assert.equal(detect('ID=raspbian\nID_LIKE=debian'), 'raspbian');
    assert.equal(detect('ID="eurolinux"\nID_LIKE="rhel fedora centos"\nVERSION_ID="9.2"'), 'eurolinux');
    assert.throws(() => detect('ID=ubuntu\nVERSION_ID="14.04"'), /^MachineError: OS type not recognized/);
    assert.throws(() => detect('ID=alpine'), /^MachineError: OS type not recognized/);
  });
});
