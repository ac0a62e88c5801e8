import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sweepKilledDirs, sweepOrphanForwardRules } from './cleanup.js';

const root = process.getuid?.() === 0;

/** The pid of a process that ran and was killed with SIGKILL. */
async function killedPid(): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const pid = child.pid!;
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  return pid;
}

test("a killed run's folder is unmounted and removed; a live run's is kept", {
  skip: !root && 'needs root to mount',
}, async () => {
  const prefix = `dm-sweep-test-${process.pid}-`;
  const dead = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dead, 'owner'), String(await killedPid()));
  mkdirSync(join(dead, 'mnt'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(dead, 'mnt')]);
  const live = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(live, 'owner'), String(process.pid));
  try {
    sweepKilledDirs(prefix);
    assert.equal(existsSync(dead), false);
    assert.equal(existsSync(live), true);
  } finally {
    try {
      execFileSync('umount', [join(dead, 'mnt')], { stdio: 'ignore' });
    } catch {}
    execFileSync('rm', ['-rf', dead, live]);
  }
});

test('a forward rule whose dmsw bridge is gone is removed; others stay', {
  skip: !root && 'needs root for iptables',
}, () => {
  try {
    execFileSync('iptables', ['-S', 'FORWARD'], { stdio: 'ignore' });
  } catch {
    return;
  }
  // A name no bridge has: what a killed swarm test leaves.
  const gone = `dmsw${(process.pid % 0xffffff).toString(16).padStart(6, '0')}`;
  assert.equal(existsSync(`/sys/class/net/${gone}`), false);
  const rule = ['FORWARD', '-i', gone, '-o', gone, '-j', 'ACCEPT'];
  execFileSync('iptables', ['-I', ...rule]);
  try {
    sweepOrphanForwardRules();
    const left = execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' });
    assert.doesNotMatch(left, new RegExp(`-i ${gone} `));
  } finally {
    try {
      execFileSync('iptables', ['-D', ...rule], { stdio: 'ignore' });
    } catch {}
  }
});
