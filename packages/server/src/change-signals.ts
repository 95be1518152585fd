/**
 * Long-poll wake-ups, in memory: an agent's request waits on its key (an instance or a
 * device id) until something it must act on changes, or the wait times out. Losing them
 * on a restart costs nothing: every agent asks again with the generation it has. Once
 * closed (the platform stops), every wait ends at once, those to come included.
 */
export function createChangeSignals() {
  const waiters = new Map<string, Set<() => void>>();
  let closed = false;

  function wait(key: string, timeoutMs: number): Promise<void> {
    if (closed) return Promise.resolve();
    return new Promise((resolve) => {
      const set = waiters.get(key) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && waiters.get(key) === set) waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      waiters.set(key, set);
    });
  }
  function wake(key: string): void {
    for (const done of [...(waiters.get(key) ?? [])]) done();
  }

  return {
    wake,
    /** Whether a request waits on `key` now: it would hear a wake-up at once. */
    listening: (key: string): boolean => waiters.has(key),
    /**
     * Resolves when `key` is woken or after timeoutMs; at once when `changedMeanwhile` says
     * the change came already. It listens before it looks: a change between the caller's
     * read and the wait would otherwise be slept through.
     */
    async waitUnlessChanged(key: string, timeoutMs: number, changedMeanwhile: () => Promise<boolean>): Promise<void> {
      const waiting = wait(key, timeoutMs);
      if (await changedMeanwhile()) wake(key);
      await waiting;
    },
    /** Ends every wait now, and every wait asked for from now on at once: the platform stops. */
    close(): void {
      closed = true;
      for (const set of [...waiters.values()]) for (const done of [...set]) done();
    },
  };
}

export type ChangeSignals = ReturnType<typeof createChangeSignals>;
