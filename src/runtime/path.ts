/**
 * The path functions of the light commands' path. Under Node, node:path itself (loaded before any
 * of our code); the single-file executable's build puts path.bun.ts in this module's place
 * (scripts/build-standalone.mjs), which does the same for POSIX paths without loading Bun's
 * node:path (a few tenths of a millisecond). Only modules on the light commands' path import this
 * one; the others import node:path.
 */
export { basename, join, resolve, sep } from 'node:path';
