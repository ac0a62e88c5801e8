/**
 * The entry of the single-file executables (scripts/build-standalone.mjs): one file holds every
 * command and the qemu segment hub, each an ES module read on its first import(). The light
 * commands start without reading the others' modules, as the loader's choice of bundle does for
 * the Node build.
 */
import { commandNameOf } from './cli/app.js';
import { setCertHealer } from './cli/cert-heal-hook.js';
import { healByImport } from './cli/cert-healer.js';
import { COMMAND_LIST, findIn } from './cli/command-list.js';
import { isLight, lightCommands } from './cli/light-commands.js';
import { runProcess } from './cli/process-main.js';

declare const __DM_SEGMENT_HUB_ARG__: string;

/**
 * The executable starts with JavaScriptCore's tier-up thresholds raised (--compile-jit-policy in
 * scripts/build-standalone.mjs): a light command is over in milliseconds, before compiling any of
 * its code would pay. Anything that may run longer (create, provisioning, ssh2's ciphers, the
 * hub) gets the normal JIT back.
 */
function normalJit(): void {
  const bun = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun;
  bun?.unsafe?.setJITPolicy?.(1);
}

// The runtime puts the embedded script's inner path in argv[1]; the app's name is the name the
// user ran (argv0), as bin/docker-machine is under Node.
process.argv[1] = process.argv0 || process.execPath;

// env and config reissue a certificate that no longer fits in this same process: the executable
// holds the code (the Node build's light bundle hands the command line to the full one instead).
setCertHealer(async (ctx, name, swarm) => {
  normalJit();
  await healByImport(ctx, name, swarm);
});

if (process.argv[2] === __DM_SEGMENT_HUB_ARG__) {
  // src/drivers/qemu/segment.ts starts the hub by running this same file with that argument.
  process.argv.splice(2, 1);
  normalJit();
  void import('./drivers/qemu/segment-hub-main.js');
} else {
  // As the Node build's loader: --version, --help, a bare or unknown command and bad global flags
  // need no command's code either (main-light.ts).
  const name = commandNameOf(process.argv, process.env);
  const command = name === undefined ? undefined : findIn(COMMAND_LIST, name);
  if (command === undefined || isLight(command.name)) {
    runProcess(lightCommands);
  } else {
    normalJit();
    void import('./cli/commands.js').then((m) => runProcess(m.commands));
  }
}
