import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { goJSONCompact, goJSONIndent } from './funcs.js';
import { goStruct, parseTemplate, TemplateError } from './index.js';

/**
 * Every case of test/fixtures/template-cases.json was run through Go's own text/template by
 * test/oracle/template/main.go; ours must print the same, or fail with the same message.
 */
interface Case {
  template: string;
  data: Record<string, unknown>;
  struct?: boolean;
  note?: string;
  out?: string;
  err?: string;
}

const cases: Case[] = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../test/fixtures/template-cases.json'), 'utf8'),
);
const funcs = { json: goJSONCompact, prettyjson: goJSONIndent };

function run(c: Case): { out?: string; err?: string } {
  try {
    const data = c.struct ? goStruct('main.Item', c.data) : c.data;
    return { out: parseTemplate(c.template, { funcs }).execute(data) };
  } catch (err) {
    if (err instanceof TemplateError) return { err: err.message };
    throw err;
  }
}

test(`Go oracle: ${cases.length} templates`, () => {
  const failures: string[] = [];
  for (const c of cases) {
    if (c.note?.startsWith('deliberate')) continue;
    const got = run(c);
    const want = c.err !== undefined ? { err: c.err } : { out: c.out };
    try {
      assert.deepEqual(got, want);
    } catch {
      failures.push(
        `${JSON.stringify(c.template)}\n   want ${JSON.stringify(want)}\n   got  ${JSON.stringify(got)}`,
      );
    }
  }
  assert.equal(failures.length, 0, `${failures.length} differ from Go:\n${failures.join('\n')}`);
});

test('deliberate difference: integer values print as integers', () => {
  const c = cases.find((x) => x.note?.startsWith('deliberate'))!;
  assert.equal(c.out, '1e+06 0.5', 'what Go prints');
  assert.deepEqual(run(c), { out: '1000000 0.5' });
});
