import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { basename, join, resolve, sep } from './path.bun.js';

// The executable's path functions must answer as node:path does on Linux and macOS.
const samples = [
  '',
  '.',
  '..',
  '/',
  '//',
  '///',
  'a',
  'a/',
  'a//',
  '/a',
  '/a/',
  './a',
  '../a',
  'a/..',
  'a/../',
  'a/../..',
  '/..',
  '/../a',
  '/a/../../b',
  'a/./b',
  'a/b/../../..',
  '.a',
  '..a',
  'a..',
  '...',
  'a/.../b',
  '/x/y/',
  '~/.docker/machine',
  'm1/config.json',
  ' ',
  'a b/c',
];

function words(seed: number): string[] {
  // Deterministic mixes of the pieces that matter: separators, dots and names.
  const pieces = ['/', '//', '.', '..', 'a', 'bc', './', '../', '...'];
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < 400; i++) {
    let s = '';
    const n = (x % 6) + 1;
    for (let j = 0; j < n; j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      s += pieces[x % pieces.length];
    }
    out.push(s);
  }
  return out;
}

const all = [...samples, ...words(7)];

describe("the executable's path functions", () => {
  it('sep is the POSIX one', () => assert.equal(sep, posix.sep));

  it('join answers as node:path for one, two and three parts', () => {
    for (const a of all) {
      assert.equal(join(a), posix.join(a), `join(${JSON.stringify(a)})`);
      for (const b of samples) {
        assert.equal(join(a, b), posix.join(a, b), `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
        assert.equal(join(b, a, 'c'), posix.join(b, a, 'c'));
      }
    }
    assert.equal(join(), posix.join());
  });

  it('resolve answers as node:path, from the working directory', () => {
    for (const a of all) {
      assert.equal(resolve(a), posix.resolve(a), `resolve(${JSON.stringify(a)})`);
      for (const b of samples) assert.equal(resolve(a, b), posix.resolve(a, b));
    }
    assert.equal(resolve(), posix.resolve());
  });

  it('basename answers as node:path', () => {
    for (const a of all) assert.equal(basename(a), posix.basename(a), `basename(${JSON.stringify(a)})`);
  });
});
