import { setCertHealer } from './cli/cert-heal-hook.js';
import { commands } from './cli/commands.js';
import { runProcess } from './cli/process-main.js';

setCertHealer(async (ctx, name, swarm) => {
  const { healMachine } = await import('./cli/cert-heal.js');
  await healMachine(ctx, name, swarm);
});
runProcess(commands);
