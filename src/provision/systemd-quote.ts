/**
 * Values in a systemd unit file, so that each reaches dockerd as one argument or one variable,
 * exactly (systemd.syntax(7), systemd.service(7)): % starts a specifier everywhere (%% is a %),
 * $ substitutes a variable in ExecStart= ($$ is a $), and inside double quotes \ starts a C
 * escape. Control characters are written as escapes: a raw newline would end the directive and
 * start another.
 */

/** One word of an ExecStart= command line: bare when nothing in it is special, else quoted. */
export function execStartWord(word: string): string {
  // A function: in a replacement string, $$ stands for one $.
  const w = word.replaceAll('%', '%%').replaceAll('$', () => '$$');
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(w) ? w : `"${cEscape(w)}"`;
}

/** One NAME=VALUE of an Environment= line, always quoted as the original wrote it. */
export function environmentWord(assignment: string): string {
  return `"${cEscape(assignment.replaceAll('%', '%%'))}"`;
}

function cEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}
