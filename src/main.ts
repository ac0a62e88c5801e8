import { runCLI } from './cli/app.js';
import { fdWriter } from './cli/fd-writer.js';

const stdout = fdWriter(1, () => process.stdout);
const stderr = fdWriter(2, () => process.stderr);

// The process exits as soon as the command is done: keep-alive sockets and timers of finished
// work must not hold it open.
runCLI(process.argv, {
  stdout,
  stderr,
  // Only rm's prompt reads stdin; creating the stream costs start-up time.
  get stdin() {
    return process.stdin;
  },
  env: process.env,
}).then(
  async (code) => {
    await Promise.all([stdout.flush(), stderr.flush()]);
    process.exit(code);
  },
  (err) => {
    stderr.write(`Error: unexpected internal error: ${err}\n`);
    process.exit(1);
  },
);
