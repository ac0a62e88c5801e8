/**
 * Entry of the segment hub process (bundled as dist/qemu-segment-hub.cjs; run from source with
 * tsx): `qemu-segment-hub DIR [--port N] [--idle-ms N]`. Its stdout and stderr are the hub's log.
 */
import { runSegmentHub } from './segment-hub.js';

function option(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const n = Number(args[i + 1]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

const args = process.argv.slice(2);
const dir = args[0];
if (!dir || dir.startsWith('--')) {
  process.stderr.write('usage: qemu-segment-hub DIR [--port N] [--idle-ms N]\n');
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
runSegmentHub({
  dir,
  port: option(args, '--port') || undefined,
  idleMs: option(args, '--idle-ms'),
  log,
}).then(
  () => process.exit(0),
  (err) => {
    log(`hub failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
