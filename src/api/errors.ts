// The errors the API's operations throw, in one place for the CLI and for programs using the
// library: callers tell failures apart by class without reaching into the layers below.
export { MachineError, PreCreateError, UsageError } from '../errors.js';
export { ToolExitError } from '../ssh/tool.js';
export { NotExistError } from '../store/store.js';
