/**
 * A fixture started by the first test that needs it (call `get` from a beforeEach), not by a
 * `before` hook: node 20 runs a suite's `before` and `after` hooks even when
 * --test-name-pattern leaves none of its tests, so a filtered run would build every suite's rig.
 * `stop` ends the fixture only if it was started, and did start.
 */
export interface Lazy<T> {
  get(): Promise<T>;
  stop(): Promise<void>;
}

export function lazy<T>(start: () => Promise<T>, stop: (value: T) => Promise<void>): Lazy<T> {
  let started: Promise<T> | undefined;
  return {
    get() {
      started ??= start();
      return started;
    },
    async stop() {
      if (!started) return;
      // A start that failed cleaned up after itself (the rigs do) and has nothing to stop.
      const value = await started.then(
        (v) => ({ v }),
        () => undefined,
      );
      if (value) await stop(value.v);
    },
  };
}
