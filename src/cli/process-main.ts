import { runCLI } from './app.js';
import type { CommandInfo } from './command.js';
import { fdWriter } from './fd-writer.js';

/** Run this process's command line with a bundle's commands, then exit with its code. */
export function runProcess(commands: CommandInfo[]): void {
  const stdout = fdWriter(1, () => process.stdout);
  const stderr = fdWriter(2, () => process.stderr);

  // Node exits 0 when nothing is left to wait on: a command stalled on a promise that nothing will
  // settle (a connection lost without an event) must not pass for a success.
  process.once('beforeExit', () => {
    stderr.write('Error: unexpected internal error: the command stopped before it finished\n');
    process.exit(1);
  });

  // The process exits as soon as the command is done: keep-alive sockets and timers of finished
  // work must not hold it open.
  runCLI(
    process.argv,
    {
      stdout,
      stderr,
      // Getters: process.stdout loads Node's stream stack, which only a fleet's live view needs.
      get isTTY() {
        return process.stdout.isTTY === true;
      },
      columns: () => process.stdout.columns,
      // Only rm's prompt reads stdin; creating the stream costs start-up time.
      get stdin() {
        return process.stdin;
      },
      env: process.env,
    },
    commands,
  )
    .then(async (code) => {
      await Promise.all([stdout.flush(), stderr.flush()]);
      return code;
    })
    .then(
      (code) => process.exit(code),
      async (err) => {
        stderr.write(`Error: unexpected internal error: ${err}\n`);
        await stderr.flush().catch(() => {});
        process.exit(1);
      },
    );
}
