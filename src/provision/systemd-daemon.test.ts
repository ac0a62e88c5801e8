import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DROP_IN, readDaemonFacts } from './systemd-daemon.js';

const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const failed = { code: 1, stdout: '', stderr: 'No such file or directory\n' };

/** The probes' answers, as a Debian 12 host (systemd 252) gave them. */
function facts(show: string, onDisk: string[]) {
  return readDaemonFacts([
    ok('/usr/sbin/dockerd\n'),
    ok(''),
    ok('[Service]\n'),
    ok(show),
    onDisk.length ? ok(`${onDisk.join('\n')}\n`) : { code: 2, stdout: '', stderr: '' },
  ]);
}

test('the drop-in counts as loaded only when systemd lists it, wants no reload, and knows every drop-in on disk', () => {
  const loaded = `DropInPaths=${DROP_IN}\nNeedDaemonReload=no\n`;
  assert.equal(facts(loaded, [DROP_IN]).dropInLoaded, true);
  // Written into a folder systemd had not seen: it says no reload is needed, and lists nothing.
  assert.equal(facts('DropInPaths=\nNeedDaemonReload=no\n', [DROP_IN]).dropInLoaded, false);
  assert.equal(facts(`DropInPaths=${DROP_IN}\nNeedDaemonReload=yes\n`, [DROP_IN]).dropInLoaded, false);
  // Someone else's drop-in in such a folder.
  const other = '/run/systemd/system/docker.service.d/30-proxy.conf';
  assert.equal(facts(loaded, [DROP_IN, other]).dropInLoaded, false);
  assert.equal(
    facts(`DropInPaths=${DROP_IN} ${other}\nNeedDaemonReload=no\n`, [DROP_IN, other]).dropInLoaded,
    true,
  );
  // /lib and /usr/lib are one folder on a merged /usr: the same drop-in by two names.
  const lib = '/usr/lib/systemd/system/docker.service.d/5-vendor.conf';
  assert.equal(
    facts(`DropInPaths=${lib} ${DROP_IN}\nNeedDaemonReload=no\n`, [
      DROP_IN,
      lib,
      '/lib/systemd/system/docker.service.d/5-vendor.conf',
    ]).dropInLoaded,
    true,
  );
  // systemctl itself failed (no systemd manager to ask).
  assert.equal(
    readDaemonFacts([ok('/usr/bin/dockerd\n'), failed, ok(''), failed, ok('')]).dropInLoaded,
    false,
  );
});

test('dockerd, docker.socket and the drop-in on the machine', () => {
  const f = readDaemonFacts([ok('/usr/sbin/dockerd\n'), ok(''), failed, ok('DropInPaths=\n'), ok('')]);
  assert.deepEqual(f, {
    dockerd: '/usr/sbin/dockerd',
    socketActivated: true,
    dropIn: null,
    dropInLoaded: false,
  });
  const g = readDaemonFacts([ok(''), failed, ok('[Service]\nExecStart=\n'), ok(''), ok('')]);
  assert.deepEqual([g.dockerd, g.socketActivated, g.dropIn], ['', false, '[Service]\nExecStart=\n']);
});
