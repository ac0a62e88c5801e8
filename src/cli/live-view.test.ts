import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveView } from './live-view.js';

/** What a terminal shows after the writes: cursor-up, erase-line and erase-below applied. */
function screen(writes: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let i = 0;
  while (i < writes.length) {
    const esc = /^\x1b\[(\d*)([AJK])/.exec(writes.slice(i));
    if (esc) {
      if (esc[2] === 'A') row -= Number(esc[1] || 1);
      else if (esc[2] === 'J') lines.length = row + 1;
      if (esc[2] !== 'A') lines[row] = '';
      i += esc[0].length;
      continue;
    }
    const c = writes[i++];
    if (c === '\r') continue;
    if (c === '\n') {
      row++;
      if (lines.length <= row) lines.push('');
      continue;
    }
    lines[row] += c;
  }
  return lines.filter((l, n) => l !== '' || n < lines.length - 1);
}

test('one line per machine with its step and time; fleet lines and warnings above the block', () => {
  let out = '';
  let now = 0;
  const v = new LiveView(['a', 'bbb'], { write: (s) => (out += s), columns: () => 40, now: () => now });
  v.event({ kind: 'info', message: 'Creating 2 machines' });
  v.event({ kind: 'state', machine: 'a', operation: 'create', state: 'started', message: '' });
  v.event({ kind: 'info', machine: 'a', message: 'Creating machine...' });
  now = 75_000;
  v.event({
    kind: 'driver',
    machine: 'bbb',
    message: '(bbb) Starting the container and a very long step beyond the width',
  });
  v.event({ kind: 'warn', machine: 'a', message: 'Warning: slow' });
  v.event({ kind: 'state', machine: 'a', operation: 'create', state: 'done', message: '' });
  now = 80_000;
  v.event({
    kind: 'state',
    machine: 'bbb',
    operation: 'create',
    state: 'failed',
    message: '',
    error: 'no space',
  });
  assert.deepEqual(screen(out), [
    'Creating 2 machines',
    'a   | Warning: slow',
    'a   |  1m15s  done',
    'bbb |     5s  failed: no space',
  ]);
  // No line is wider than the terminal less one column.
  for (const l of screen(out)) assert.ok(l.length <= 39, l);
});

test('with rowsOnStart a machine gets its line when its work starts; plan lines stay above', () => {
  let out = '';
  const v = new LiveView(
    ['web1', 'web2'],
    { write: (s) => (out += s), columns: () => 80, now: () => 0 },
    true,
  );
  v.event({
    kind: 'info',
    machine: 'web1',
    operation: 'apply',
    message: 'Plan: web1 exists and matches the file',
  });
  v.event({ kind: 'info', machine: 'web2', operation: 'apply', message: 'Plan: create web2 (driver none)' });
  v.event({ kind: 'state', machine: 'web2', operation: 'create', state: 'started', message: '' });
  v.event({ kind: 'info', machine: 'web2', operation: 'create', message: 'Creating machine...' });
  assert.deepEqual(screen(out), [
    'web1 | Plan: web1 exists and matches the file',
    'web2 | Plan: create web2 (driver none)',
    'web2 |     0s  Creating machine...',
  ]);
});
