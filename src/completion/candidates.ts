import type { FlagDef } from '../flags/def.js';

/**
 * What may come next on a docker-machine command line being typed, for the shells' completion
 * scripts (./scripts.ts). The scripts pass the words and the index of the one under the cursor;
 * everything else (commands, their flags, each driver's create flags, machine names in the
 * store) is known here, so the three shells complete alike.
 */
export interface Candidate {
  value: string;
  description?: string;
}

export interface CompletionSource {
  /** Commands as help lists them (hidden ones left out). */
  commands: { name: string; aliases?: string[]; usage: string }[];
  globalFlags: FlagDef[];
  /** A command's flags for these arguments (create's include the chosen driver's). */
  commandFlags(command: string, args: string[]): Promise<FlagDef[]>;
  machineNames(storePath: string | undefined): Promise<string[]>;
  drivers: { name: string; description: string }[];
}

/** Values some flags take from a fixed set. */
const FLAG_VALUES: Record<string, string[]> = {
  shell: ['bash', 'cmd', 'emacs', 'fish', 'powershell', 'tcsh', 'zsh'],
  'engine-endpoint': ['tcp', 'ssh'],
};

/** Commands whose arguments are not machine names. */
const NO_MACHINE_ARGS = new Set(['apply', 'create', 'ls', 'active', 'help', 'completion', 'version']);

export async function candidates(
  words: string[],
  cword: number,
  src: CompletionSource,
): Promise<Candidate[]> {
  const current = words[cword] ?? '';
  const before = words.slice(0, cword);
  const g = scanFlags(before, src.globalFlags, true);
  const storePath = g.values.get('storage-path');

  if (g.rest.length === 0) {
    if (g.pendingValue) return valuesFor(g.pendingValue, current, src);
    const inline = await inlineValue(current, src.globalFlags, src);
    if (inline) return inline;
    if (current.startsWith('-')) return matching(flagNames(src.globalFlags), current);
    return matching(
      src.commands.map((c) => ({ value: c.name, description: c.usage })),
      current,
    );
  }

  const [typed, ...args] = g.rest;
  const command = src.commands.find((c) => c.name === typed || c.aliases?.includes(typed))?.name;
  if (!command) return [];
  if (command === 'help') {
    return args.length === 0
      ? matching(
          src.commands.map((c) => ({ value: c.name, description: c.usage })),
          current,
        )
      : [];
  }
  if (command === 'completion') {
    return args.length === 0
      ? matching(
          ['bash', 'zsh', 'fish'].map((value) => ({ value })),
          current,
        )
      : [];
  }
  let flags: FlagDef[];
  try {
    flags = await src.commandFlags(command, [...args, current]);
  } catch {
    flags = await src.commandFlags(command, []).catch(() => []);
  }
  const c = scanFlags(args, flags, false);
  if (c.pendingValue) return valuesFor(c.pendingValue, current, src);
  const inline = await inlineValue(current, flags, src);
  if (inline) return inline;
  if (current.startsWith('-')) return matching(flagNames(flags), current);
  if (NO_MACHINE_ARGS.has(command)) return [];
  // ssh and scp take a machine first; what follows belongs to the remote side.
  if ((command === 'ssh' || command === 'mount') && c.rest.length > 0) return [];
  const names = await src.machineNames(storePath).catch(() => []);
  if (command === 'scp') {
    return matching(
      names.map((n) => ({ value: `${n}:` })),
      current,
    );
  }
  const taken = new Set(c.rest);
  return matching(
    names.filter((n) => !taken.has(n)).map((value) => ({ value })),
    current,
  );
}

interface Scan {
  values: Map<string, string>;
  /** The flag whose value is the word under the cursor. */
  pendingValue?: FlagDef;
  rest: string[];
}

/** Go's flag syntax as the parser reads it: -f, --f, -f=v, --f v; `--` ends the flags. */
function scanFlags(words: string[], defs: FlagDef[], stopAtFirstArg: boolean): Scan {
  const values = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') {
      rest.push(...words.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(=(.*))?$/s.exec(w);
    if (!m || w === '-') {
      rest.push(w);
      if (stopAtFirstArg) {
        rest.push(...words.slice(i + 1));
        break;
      }
      continue;
    }
    const def = defs.find((d) => d.name === m[1] || d.short === m[1]);
    if (!def || def.kind === 'bool' || m[2] !== undefined) {
      if (def && m[3] !== undefined) values.set(def.name, m[3]);
      continue;
    }
    if (i + 1 >= words.length) return { values, pendingValue: def, rest };
    values.set(def.name, words[++i]);
  }
  return { values, rest };
}

async function valuesFor(def: FlagDef, current: string, src: CompletionSource): Promise<Candidate[]> {
  if (def.name === 'driver') {
    return matching(
      src.drivers.map((d) => ({ value: d.name, description: d.description })),
      current,
    );
  }
  const fixed = FLAG_VALUES[def.name];
  return fixed
    ? matching(
        fixed.map((value) => ({ value })),
        current,
      )
    : [];
}

/** `--flag=partial` under the cursor: the flag's values, each written with its `--flag=`. */
async function inlineValue(
  current: string,
  defs: FlagDef[],
  src: CompletionSource,
): Promise<Candidate[] | undefined> {
  const m = /^(--?([^=]+)=)(.*)$/s.exec(current);
  const def = m && defs.find((d) => d.name === m[2] || d.short === m[2]);
  if (!m || !def || def.kind === 'bool') return undefined;
  return (await valuesFor(def, m[3], src)).map((c) => ({ ...c, value: m[1] + c.value }));
}

/**
 * bash splits `--driver=gen` into `--driver`, `=`, `gen` (= is in COMP_WORDBREAKS) and replaces
 * only the last piece: the pieces are joined again, and `strip` is what to cut from each answer.
 */
export function joinBashEquals(
  words: string[],
  cword: number,
): { words: string[]; cword: number; strip: string } {
  const out: string[] = [];
  let at = cword;
  let strip = '';
  for (let i = 0; i < words.length; i++) {
    const prev = out[out.length - 1];
    if (words[i] === '=' && prev?.startsWith('-') && !prev.includes('=')) {
      const hasNext = i + 1 < words.length && cword !== i;
      const joined = `${prev}=${hasNext ? words[i + 1] : ''}`;
      if (cword === i || cword === i + 1) {
        at = out.length - 1;
        strip = `${prev}=`;
      } else if (cword > i + 1) {
        at -= hasNext ? 2 : 1;
      }
      out[out.length - 1] = joined;
      if (hasNext) i++;
      continue;
    }
    out.push(words[i]);
  }
  return { words: out, cword: at, strip };
}

function flagNames(defs: FlagDef[]): Candidate[] {
  return defs.map((d) => ({ value: `--${d.name}`, description: d.usage }));
}

function matching(all: Candidate[], prefix: string): Candidate[] {
  return all.filter((c) => c.value.startsWith(prefix));
}
