import type { ExecResult } from '../ssh/client.js';
import { commandError, type ProvisionContext } from './context.js';

/** One command of a batch, written as it would run on its own. */
export interface BatchStep {
  cmd: string;
  /** What it reads on stdin (a certificate, a drop-in): sent with the batch, never on a command line. */
  input?: string;
  /** Its exit status is an answer: the batch goes on after a failure, and nothing is thrown. */
  probe?: boolean;
  /** The error for a failure of this step; by default mustRun's, naming the command. */
  failure?: (r: ExecResult) => Promise<Error>;
}

/**
 * Runs each step in turn in the session's shell. Markers around each step, on stdout and on
 * stderr, let the output be split back per step; a step's stdin is cut from the batch's by its
 * length (dd reads a pipe one byte at a time, so it never takes the next step's bytes; head -c
 * does on busybox). A failed step that is not a probe ends the batch with its status.
 */
export const BATCH_PREAMBLE = `dm() {
  printf '\\n::dm %s\\n' "$1"; printf '\\n::dm %s\\n' "$1" >&2
  if [ "$3" -gt 0 ]; then dd ibs=1 obs=8192 count="$3" 2>/dev/null | eval "$4"; else eval "$4" </dev/null; fi
  dm_s=$?
  printf '\\n::dm %s exit %s\\n' "$1" "$dm_s"; printf '\\n::dm %s end\\n' "$1" >&2
  [ "$2" = probe ] || [ "$dm_s" = 0 ] || exit "$dm_s"
}
`;

const shQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** The batch's command line: the preamble, then one readable line per step. */
export function batchScript(steps: BatchStep[]): string {
  const lines = steps.map(
    (s, i) => `dm ${i} ${s.probe ? 'probe' : 'must'} ${Buffer.byteLength(s.input ?? '')} ${shQuote(s.cmd)}`,
  );
  return `${BATCH_PREAMBLE}${lines.join('\n')}`;
}

/** A step's share of one stream: the text between its markers, and what its end marker says. */
function section(text: string, i: number, end: string): { body: string; end?: string } | undefined {
  const begin = `\n::dm ${i}\n`;
  const at = text.indexOf(begin);
  if (at < 0) return undefined;
  const from = at + begin.length;
  const closing = new RegExp(`\\n::dm ${i} (${end})\\n`, 'g');
  closing.lastIndex = from;
  const m = closing.exec(text);
  return m ? { body: text.slice(from, m.index), end: m[1] } : { body: text.slice(from) };
}

/**
 * Each step's own exit status and output from the batch's; undefined for a step that never
 * began. A step cut short (the connection dropped) gets the batch's status.
 */
export function splitBatch(r: ExecResult, count: number): (ExecResult | undefined)[] {
  return Array.from({ length: count }, (_, i) => {
    const out = section(r.stdout, i, 'exit \\d+');
    if (!out) return undefined;
    const err = section(r.stderr, i, 'end');
    const status = out.end ? Number(out.end.slice('exit '.length)) : r.code === 0 ? -1 : r.code;
    return { code: status, stdout: out.body, stderr: err?.body ?? '' };
  });
}

/**
 * Several remote commands in one round trip (one SSH session, and with the system ssh client one
 * process), each failing as it would alone: the first failed step that is not a probe throws its
 * own error, naming its command. One step runs as itself, with no batch around it.
 */
export async function runBatch(ctx: ProvisionContext, steps: BatchStep[]): Promise<ExecResult[]> {
  if (steps.length === 0) return [];
  let results: (ExecResult | undefined)[];
  let whole: ExecResult;
  if (steps.length === 1) {
    whole = await ctx.ssh.run(steps[0].cmd, { input: steps[0].input });
    results = [whole];
  } else {
    const input = steps.map((s) => s.input ?? '').join('');
    whole = await ctx.ssh.run(batchScript(steps), { input: input || undefined });
    results = splitBatch(whole, steps.length);
  }
  const out: ExecResult[] = [];
  for (const [i, step] of steps.entries()) {
    // A step that never began: the batch broke before it (its shell, or the connection).
    const r = results[i] ?? { code: whole.code === 0 ? -1 : whole.code, stdout: '', stderr: whole.stderr };
    if (r.code !== 0 && !step.probe) throw step.failure ? await step.failure(r) : commandError(step.cmd, r);
    out.push(r);
  }
  return out;
}
