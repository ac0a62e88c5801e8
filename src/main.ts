import { runCLI } from './cli/app.js';

// The process exits as soon as the command is done: keep-alive sockets and timers of finished
// work must not hold it open.
runCLI(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
}).then(
  async (code) => {
    for (const s of [process.stdout, process.stderr]) {
      if (s.writableLength > 0) await new Promise((r) => s.once('drain', r));
    }
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`Error: unexpected internal error: ${err}\n`);
    process.exit(1);
  },
);
