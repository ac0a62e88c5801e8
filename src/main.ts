import { commands } from './cli/commands.js';
import { runProcess } from './cli/process-main.js';

runProcess(commands);
