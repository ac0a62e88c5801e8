import { setCertHealer } from './cli/cert-heal-hook.js';
import { healByImport } from './cli/cert-healer.js';
import { commands } from './cli/commands.js';
import { runProcess } from './cli/process-main.js';

setCertHealer(healByImport);
runProcess(commands);
