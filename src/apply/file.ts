import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ApplyMachine } from '../api/apply.js';
import { sharedCreateFlags } from '../api/create-flags.js';
// Create's own flag definitions and request building: a file's flags mean what they mean on
// create's command line.
import { pick, requestsFor } from '../api/create-request.js';
import { driverFlagDefs } from '../api/drivers.js';
import { errnoText, errorMessage, MachineError } from '../errors.js';
import type { FlagDef, FlagValue } from '../flags/def.js';
import { parseFlags } from '../flags/parse.js';
import { validateMachineName } from '../store/store.js';
import { closeNames } from './close-names.js';
import { DocError, type Node } from './doc.js';
import { parseJson } from './json.js';
import { parseYaml } from './yaml.js';

/**
 * An apply file (docs/apply.md) read into the machines it lists, each flag checked by create's own
 * definitions and checks. Every problem is one line: `FILE:LINE: FIELD: what is wrong`.
 */
export interface ApplyFile {
  path: string;
  label: string;
  machines: ApplyMachine[];
}

const TOP_KEYS = ['machines', 'label'];
const ENTRY_KEYS = ['name', 'driver', 'flags'];
/** Create's flags an entry may set: its driver is the entry's own field. */
const entryFlagDefs = sharedCreateFlags.filter((d) => d.name !== 'driver');

export interface LoadOptions {
  /** Where flags left out of the file take their environment variables from. */
  env: NodeJS.ProcessEnv;
  nativeSSH?: boolean;
}

export async function loadApplyFile(path: string, opts: LoadOptions): Promise<ApplyFile> {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MachineError(`${path}: cannot read the apply file: ${errnoText(err)}`);
  }
  const fail = (line: number, field: string, message: string): never => {
    throw new MachineError(`${path}:${line}: ${field}${field ? ': ' : ''}${message}`);
  };
  let doc: Node;
  try {
    const json = /\.json$/i.test(path) || /^\s*[{[]/.test(source);
    doc = json ? parseJson(source) : parseYaml(source);
  } catch (err) {
    if (err instanceof DocError) return fail(err.line, '', err.message);
    throw err;
  }
  if (doc.kind !== 'map') return fail(doc.line, '', 'expected a map with a "machines:" list');
  for (const [k, e] of doc.entries) if (!TOP_KEYS.includes(k)) unknownKey(fail, e.keyLine, k, k, TOP_KEYS);
  const list = doc.entries.get('machines');
  if (!list) return fail(doc.line, 'machines', 'missing: list the machines under "machines:"');
  if (list.value.kind !== 'list') return fail(list.keyLine, 'machines', 'expected a list of machines');
  let label = realpathSync(resolve(path));
  const lab = doc.entries.get('label');
  if (lab) {
    const v = lab.value;
    if (v.kind !== 'scalar' || typeof v.value !== 'string' || v.value === '')
      return fail(lab.keyLine, 'label', 'expected a non-empty string');
    label = v.value;
  }

  const machines: ApplyMachine[] = [];
  const seen = new Map<string, number>();
  for (const [i, item] of list.value.items.entries()) {
    const at = `machines[${i}]`;
    if (item.kind !== 'map') return fail(item.line, at, 'expected a map with name, driver and flags');
    for (const [k, e] of item.entries)
      if (!ENTRY_KEYS.includes(k)) unknownKey(fail, e.keyLine, `${at}.${k}`, k, ENTRY_KEYS);
    const name = stringField(item, 'name', at, fail);
    try {
      validateMachineName(name.value);
    } catch (err) {
      fail(name.line, `${at}.name`, errorMessage(err).split('\n')[0]);
    }
    const before = seen.get(name.value);
    if (before !== undefined)
      fail(name.line, `${at}.name`, `"${name.value}" is listed twice (first at line ${before})`);
    seen.set(name.value, name.line);
    const driver = stringField(item, 'driver', at, fail);
    let driverDefs: FlagDef[];
    try {
      driverDefs = await driverFlagDefs(driver.value);
    } catch (err) {
      return fail(driver.line, `${at}.driver`, errorMessage(err).split('\n')[0]);
    }
    const defs = [...entryFlagDefs, ...driverDefs];
    const byName = new Map(defs.map((d) => [d.name, d]));
    const argv: string[] = [];
    const given: string[] = [];
    const flagsNode = item.entries.get('flags');
    if (flagsNode && !(flagsNode.value.kind === 'scalar' && flagsNode.value.value === null)) {
      if (flagsNode.value.kind !== 'map')
        return fail(flagsNode.keyLine, `${at}.flags`, 'expected a map of create flags without their dashes');
      for (const [k, e] of flagsNode.value.entries) {
        const field = `${at}.flags.${k}`;
        const def = byName.get(k.replace(/^--?/, ''));
        if (!def) {
          const close = closeNames(k, [...byName.keys(), 'driver']);
          return fail(
            e.keyLine,
            field,
            k === 'driver' || k === 'd'
              ? `the driver is the entry's own "driver:" field`
              : `not a create flag of driver ${driver.value}${close.length > 0 ? `; close names: ${close.join(', ')}` : ''}`,
          );
        }
        const args = argsFor(def, e.value, field, fail);
        // Each flag alone first, so that a refused value is named at its own line.
        try {
          parseFlags(args, defs, { command: 'create', env: {} });
        } catch (err) {
          fail(e.value.line, field, errorMessage(err));
        }
        argv.push(...args);
        given.push(def.name);
      }
    }
    const parsed = parseFlags(argv, defs, { command: 'create', env: opts.env }).flags;
    // As the parser read them (a bool given as "yes" is refused above; 0x10 is 16).
    const flags: Record<string, FlagValue> = {};
    for (const n of given) flags[n] = parsed.values.get(n) as FlagValue;
    const [request] = requestsFor(
      [name.value],
      { flags: parsed, globals: { nativeSSH: !!opts.nativeSSH } },
      driver.value,
      pick(parsed, driverDefs),
    );
    machines.push({ name: name.value, driver: driver.value, flags, request });
  }
  return { path, label, machines };
}

type Fail = (line: number, field: string, message: string) => never;

function unknownKey(fail: Fail, line: number, field: string, key: string, known: string[]): never {
  const close = closeNames(key, known);
  return fail(
    line,
    field,
    `unknown field; expected ${known.join(', ')}${close.length > 0 ? ` (did you mean ${close[0]}?)` : ''}`,
  );
}

function stringField(
  item: Extract<Node, { kind: 'map' }>,
  key: string,
  at: string,
  fail: Fail,
): { value: string; line: number } {
  const e = item.entries.get(key);
  if (!e) return fail(item.line, `${at}.${key}`, 'missing');
  const v = e.value;
  if (v.kind !== 'scalar' || v.value === null || typeof v.value === 'boolean' || v.value === '')
    return fail(e.keyLine, `${at}.${key}`, 'expected a non-empty string');
  return { value: String(v.value), line: e.keyLine };
}

/** The command-line arguments a value stands for: `--name=value`, once per element of a list. */
function argsFor(def: FlagDef, v: Node, field: string, fail: Fail): string[] {
  if (v.kind === 'map') return fail(v.line, field, 'expected a value, not a map');
  if (v.kind === 'list') {
    if (def.kind !== 'stringSlice')
      return fail(v.line, field, 'expected one value, not a list (the flag is not repeatable)');
    return v.items.map((item) => {
      if (item.kind !== 'scalar' || item.value === null || typeof item.value === 'boolean')
        return fail(item.line, field, 'expected a list of strings');
      return `--${def.name}=${item.value}`;
    });
  }
  if (v.value === null) return fail(v.line, field, 'a value is needed (for a bool flag: true or false)');
  if (def.kind === 'bool' && typeof v.value !== 'boolean' && v.quoted)
    return fail(v.line, field, 'expected true or false');
  if (def.kind !== 'bool' && typeof v.value === 'boolean')
    return fail(v.line, field, `expected ${def.kind === 'int' ? 'a number' : 'a string'}, not ${v.value}`);
  return [`--${def.name}=${v.value}`];
}
