import type { ApplyRequest, ApplyResult } from '../api/apply.js';
import { DEFAULT_PARALLEL } from '../api/fleet.js';
import { loadApplyFile } from '../apply/file.js';
import { MachineError, UsageError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool, flagInt, flagString } from '../flags/def.js';
import { apiFor } from './api.js';
import type { CommandContext } from './command.js';
import { exitCodeOf, onInterrupt } from './interrupt.js';
import { jsonFlag } from './json-flag.js';
import { liveViewFor } from './live-view.js';

/** New (docs/apply.md): the machines a file lists, created when missing. */
export const flags: FlagDef[] = [
  { name: 'file', short: 'f', kind: 'string', usage: 'The apply file (YAML or JSON) listing the machines' },
  { name: 'dry-run', kind: 'bool', usage: 'Print the plan and change nothing' },
  {
    name: 'recreate',
    kind: 'bool',
    usage:
      'Remove and create again the machines that differ from the file (default: only show the difference)',
  },
  {
    name: 'prune',
    kind: 'bool',
    usage: 'Remove the machines this file made that it no longer lists',
  },
  {
    name: 'parallel',
    kind: 'int',
    default: DEFAULT_PARALLEL,
    envVar: 'MACHINE_CREATE_PARALLEL',
    usage: 'How many machines are created at once',
  },
  jsonFlag,
];

export async function run(ctx: CommandContext): Promise<void> {
  const path = flagString(ctx.flags, 'file');
  if (path === '') throw new UsageError('the apply file is missing: give it with -f FILE', 'apply');
  if (ctx.args.length > 0)
    throw new UsageError(`unexpected argument "${ctx.args[0]}": the machines are in the file (-f)`, 'apply');
  const parallel = flagInt(ctx.flags, 'parallel');
  if (parallel < 1)
    throw new UsageError(`invalid value "${parallel}" for flag -parallel: expected at least 1`, 'apply');
  const file = await loadApplyFile(path, { env: ctx.env, nativeSSH: ctx.globals.nativeSSH });
  const req: ApplyRequest = {
    label: file.label,
    machines: file.machines,
    recreate: flagBool(ctx.flags, 'recreate'),
    prune: flagBool(ctx.flags, 'prune'),
    parallel,
  };
  const names = file.machines.map((m) => m.name);
  const column = Math.max(1, ...names.map((n) => n.length));
  if (flagBool(ctx.flags, 'dry-run')) {
    await apiFor(ctx, { machineColumn: column }).planApply(req);
    return;
  }
  // The plan decides which machines change: each gets its live line when its work starts.
  const live = liveViewFor(ctx, names, true);
  const api = apiFor(ctx, { machineColumn: column, live });
  const ac = new AbortController();
  let interrupted = 0;
  const removeHandlers = onInterrupt(
    (signal) => {
      interrupted = exitCodeOf(signal);
      ctx.out.error(`${signal}: stopping every create at its next step (once more to exit at once)`);
      ac.abort();
    },
    {
      giveUp: () =>
        ctx.out.error(
          `Exiting before every create stopped; 'docker-machine rm -y NAME' removes what each made`,
        ),
    },
  );
  let result: ApplyResult;
  live?.start();
  try {
    result = await api.apply({ ...req, signal: ac.signal });
  } finally {
    live?.stop();
    removeHandlers();
  }
  report(ctx, result, interrupted);
}

/** The summary: what changed on stdout, what failed on stderr (then the exit status is not 0). */
function report(ctx: CommandContext, r: ApplyResult, interrupted: number): void {
  const created = r.fleet?.created.map((m) => m.name) ?? [];
  const recreated = created.filter((n) => r.removed.includes(n));
  const made = created.filter((n) => !recreated.includes(n));
  const pruned = r.removed.filter((n) => !created.includes(n));
  if (made.length > 0) ctx.out.info(`Created ${count(made)}: ${made.join(', ')}`);
  if (recreated.length > 0) ctx.out.info(`Recreated ${count(recreated)}: ${recreated.join(', ')}`);
  if (pruned.length > 0) ctx.out.info(`Removed ${count(pruned)}: ${pruned.join(', ')}`);
  if (r.plan.unchanged.length > 0) ctx.out.info(`Unchanged: ${r.plan.unchanged.join(', ')}`);
  const kept = r.plan.drift.filter((d) => !created.includes(d.name)).map((d) => d.name);
  if (kept.length > 0 && !r.fleet?.failed.some((f) => kept.includes(f.name)))
    ctx.out.info(`Differ from the file (kept): ${kept.join(', ')}`);
  const lines: string[] = [];
  for (const f of r.fleet?.failed ?? []) {
    const all = f.error.split('\n');
    if (all.length > 1) for (const l of all) ctx.out.error(`${f.name} | ${l}`);
    lines.push(`Failed to create ${f.name}: ${all[0]}`);
  }
  for (const f of r.removeFailed) lines.push(`Failed to remove ${f.name}: ${f.error}`);
  if (lines.length === 0) return;
  const left = (r.fleet?.failed ?? []).filter((f) => f.inStore).map((f) => f.name);
  if (left.length > 0)
    lines.push(`To remove what the failed creates made, run: ${ctx.appName} rm -y ${left.join(' ')}`);
  const codes = new Set((r.fleet?.failed ?? []).map((f) => f.exitCode));
  throw new MachineError(lines.join('\n'), {
    exitCode: interrupted || (codes.size === 1 ? [...codes][0] : 1),
  });
}

function count(names: string[]): string {
  return `${names.length} machine${names.length === 1 ? '' : 's'}`;
}
