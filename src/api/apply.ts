import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSecretFlag } from '../debug.js';
import { errorMessage, MachineError } from '../errors.js';
import type { FlagValue } from '../flags/def.js';
import type { ApiContext } from './context.js';
import type { CreateRequest } from './create.js';
import { type ProgressListener, tracked } from './events.js';
import { createFleet, DEFAULT_PARALLEL, type FleetResult } from './fleet.js';
import { removeMachine } from './remove.js';

/**
 * Declarative fleets (docs/apply.md): the machines a file lists are created when missing; those
 * that exist are compared with the file (shown, changed only with `recreate`); with `prune`,
 * machines that an apply of the same label made and the file no longer lists are removed.
 *
 * What apply made is recorded beside the machine's config.json, in apply.json: the label and
 * the driver and flags it was created with. That record is the label --prune looks for (no other
 * machine is ever pruned) and what drift is measured against.
 */

/** The record's file name in the machine's folder. */
export const APPLY_RECORD = 'apply.json';

export interface ApplyMachine {
  name: string;
  driver: string;
  /** The file's flags for this machine, by create's flag name (what drift compares). */
  flags: Record<string, FlagValue>;
  /** The create request those flags make (the CLI builds it as create does). */
  request: CreateRequest;
}

export interface ApplyRequest {
  /** Which apply made a machine: the file's `label`, else its absolute path. */
  label: string;
  machines: ApplyMachine[];
  /** Remove and create again machines that differ from the file. */
  recreate?: boolean;
  /** Remove machines of this label that the file no longer lists. */
  prune?: boolean;
  /** Creates at once; default min(creates, DEFAULT_PARALLEL). */
  parallel?: number;
  signal?: AbortSignal;
}

export interface ApplyDrift {
  name: string;
  /** One line per difference: `FLAG: file X, machine Y`. */
  differences: string[];
}

export interface ApplyPlan {
  create: string[];
  /** Exist and match the file (or were not made by apply and have its driver). */
  unchanged: string[];
  /** Exist and differ; recreated only with `recreate`. */
  drift: ApplyDrift[];
  /** Made by an apply of this label and no longer listed; removed only with `prune`. */
  orphans: string[];
}

export interface ApplyResult {
  plan: ApplyPlan;
  /** Machines removed: recreated ones first removed, and pruned ones. */
  removed: string[];
  /** Removals that failed (the machine stays in the store). */
  removeFailed: { name: string; error: string }[];
  /** The creates (missing and recreated machines); undefined when nothing was to be created. */
  fleet?: FleetResult;
}

interface ApplyRecord {
  label: string;
  driver: string;
  flags: Record<string, FlagValue>;
}

/** What apply would do; emits one `apply` line per machine, so that --dry-run shows the plan. */
export async function planApply(ctx: ApiContext, req: ApplyRequest): Promise<ApplyPlan> {
  const plan: ApplyPlan = { create: [], unchanged: [], drift: [], orphans: [] };
  const say = (machine: string, message: string, warn = false) =>
    ctx.events({ kind: warn ? 'warn' : 'info', machine, operation: 'apply', message });
  const listed = new Set(req.machines.map((m) => m.name));
  for (const m of req.machines) {
    if (!(await ctx.store.exists(m.name))) {
      plan.create.push(m.name);
      say(m.name, `Plan: create ${m.name} (driver ${m.driver})`);
      continue;
    }
    const differences = await driftOf(ctx, m);
    if (differences.length === 0) {
      plan.unchanged.push(m.name);
      say(m.name, `Plan: ${m.name} exists and matches the file`);
      continue;
    }
    plan.drift.push({ name: m.name, differences });
    say(
      m.name,
      req.recreate
        ? `Plan: recreate ${m.name}, it differs from the file: ${differences.join('; ')}`
        : `Plan: ${m.name} differs from the file (kept; --recreate replaces it): ${differences.join('; ')}`,
      !req.recreate,
    );
  }
  for (const name of await ctx.store.listNames()) {
    if (listed.has(name) || readRecord(ctx, name)?.label !== req.label) continue;
    plan.orphans.push(name);
    say(
      name,
      req.prune
        ? `Plan: remove ${name}, made by this file and no longer in it`
        : `Plan: ${name} was made by this file and is no longer in it (kept; --prune removes it)`,
    );
  }
  return plan;
}

/** Plan, then do it: removals (recreate, prune) and the creates, in parallel with a limit. */
export async function applyFleet(ctx: ApiContext, req: ApplyRequest): Promise<ApplyResult> {
  const plan = await planApply(ctx, req);
  const result: ApplyResult = { plan, removed: [], removeFailed: [] };
  const remove = async (name: string) => {
    try {
      const r = await tracked(ctx, name, 'rm', async (c) => {
        const r = await removeMachine(c, name, false);
        if (!r.removed) throw new MachineError(r.driverError ?? `Can't remove "${name}"`);
        return r;
      });
      if (r.removed) result.removed.push(name);
      return true;
    } catch (err) {
      result.removeFailed.push({ name, error: errorMessage(err).split('\n')[0] });
      return false;
    }
  };
  const recreate: string[] = [];
  if (req.recreate) {
    for (const d of plan.drift) if (await remove(d.name)) recreate.push(d.name);
  }
  const toCreate = new Set([...plan.create, ...recreate]);
  const machines = req.machines.filter((m) => toCreate.has(m.name));
  if (machines.length > 0) {
    // Each machine is recorded as soon as its create ends, so that an apply killed half-way
    // leaves every machine it made findable by the next --prune or --recreate. A failed create
    // is left in the store (as create leaves it): recorded too.
    const byName = new Map(machines.map((m) => [m.name, m]));
    const writes: Promise<void>[] = [];
    const events: ProgressListener = (e) => {
      ctx.events(e);
      const m = e.machine === undefined ? undefined : byName.get(e.machine);
      if (m && e.kind === 'state' && e.operation === 'create' && e.state !== 'started') {
        writes.push(
          ctx.store.exists(m.name).then((there) => (there ? writeRecord(ctx, req.label, m) : undefined)),
        );
      }
    };
    try {
      result.fleet = await createFleet(
        { ...ctx, events },
        {
          machines: machines.map((m) => m.request),
          parallel: Math.min(req.parallel ?? DEFAULT_PARALLEL, machines.length),
          signal: req.signal,
        },
      );
    } finally {
      await Promise.all(writes);
    }
  }
  if (req.prune && !req.signal?.aborted) for (const name of plan.orphans) await remove(name);
  return result;
}

async function driftOf(ctx: ApiContext, m: ApplyMachine): Promise<string[]> {
  const differences: string[] = [];
  let driver: string | undefined;
  try {
    driver = (await ctx.store.load(m.name)).DriverName;
  } catch (err) {
    return [`its config cannot be read (${errorMessage(err).split('\n')[0]})`];
  }
  if (driver !== m.driver) differences.push(`driver: file ${m.driver}, machine ${driver}`);
  const record = readRecord(ctx, m.name);
  // A machine that apply did not make has no record of its flags: only its driver is compared.
  if (!record) return differences;
  const want = recorded(m.flags);
  for (const k of [...new Set([...Object.keys(want), ...Object.keys(record.flags)])].sort()) {
    const a = show(want[k]);
    const b = show(record.flags[k]);
    if (a !== b) differences.push(`${k}: file ${a}, machine ${b}`);
  }
  return differences;
}

function show(v: FlagValue | undefined): string {
  if (v === undefined) return '(not set)';
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}

/** The flags as recorded: a secret's value never lands on disk, only its digest. */
function recorded(flags: Record<string, FlagValue>): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [k, v] of Object.entries(flags)) {
    out[k] = isSecretFlag(k) ? `sha256:${createHash('sha256').update(JSON.stringify(v)).digest('hex')}` : v;
  }
  return out;
}

function readRecord(ctx: ApiContext, name: string): ApplyRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(ctx.store.machineDir(name), APPLY_RECORD), 'utf8')) as ApplyRecord;
    return typeof r?.label === 'string' && r.flags && typeof r.flags === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

async function writeRecord(ctx: ApiContext, label: string, m: ApplyMachine): Promise<void> {
  const record: ApplyRecord = { label, driver: m.driver, flags: recorded(m.flags) };
  await writeFile(join(ctx.store.machineDir(m.name), APPLY_RECORD), `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o600,
  });
}
