/**
 * Filled in by the bundler (scripts/build.mjs); when run from source the package version is used
 * and the build is "dev".
 */
declare const __DM_VERSION__: string | undefined;
declare const __DM_COMMIT__: string | undefined;

export const VERSION = typeof __DM_VERSION__ === 'string' ? __DM_VERSION__ : '0.17.0-dev';
export const GIT_COMMIT = typeof __DM_COMMIT__ === 'string' ? __DM_COMMIT__ : 'dev';
export const VERSION_STRING = `${VERSION}, build ${GIT_COMMIT}`;
