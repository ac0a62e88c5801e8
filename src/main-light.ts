import { commandNameOf } from './cli/app.js';
import { findIn } from './cli/command-list.js';
import { isLight, lightCommands } from './cli/light-commands.js';
import { runProcess } from './cli/process-main.js';

/**
 * The entry of the light bundle (dist/cli-light.cjs), which the loader picks when the command
 * line looks like a light command. Its own parse of the global flags has the last word: any other
 * command goes to the full bundle, before this one has done anything.
 */
const name = commandNameOf(process.argv, process.env);
const command = name === undefined ? undefined : findIn(lightCommands, name);
if (command !== undefined && !isLight(command.name)) {
  const runFull = (globalThis as Record<symbol, unknown>)[Symbol.for('docker-machine.run-full-cli')];
  if (typeof runFull !== 'function') {
    process.stderr.write(
      `docker-machine: '${command.name}' needs dist/cli.cjs: run dist/docker-machine.cjs\n`,
    );
    process.exit(1);
  }
  runFull();
} else {
  runProcess(lightCommands);
}
