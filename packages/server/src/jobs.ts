/** Where a failed run is told: the server's logger. */
export interface JobLog {
  error(fields: { err: unknown; job: string }, message: string): void;
}

/** Work the platform does by itself, not asked by a request: started and stopped as one. */
export interface Job {
  name: string;
  start(): void;
  stop(): void;
}

/**
 * The platform's background jobs, registered in the composition root and started and
 * stopped in one place. It is also the one place that will decide, with several replicas on
 * PostgreSQL, which process runs a job (a lease taken before start): every job is listed here.
 */
export function createJobs(log: JobLog) {
  const jobs: Job[] = [];
  let started = false;
  return {
    /** A job of its own (an engine with its own timer: rollouts, offline alerts). */
    add(job: Job): void {
      jobs.push(job);
    },
    /** `run` every `ms`; a failure is logged under the job's name and the next run comes as planned. */
    every(name: string, ms: number, run: () => Promise<unknown>): void {
      let timer: NodeJS.Timeout | null = null;
      jobs.push({
        name,
        start() {
          timer = setInterval(() => void run().catch((error: unknown) => log.error({ err: error, job: name }, `${name} failed`)), ms);
          timer.unref();
        },
        stop() {
          if (timer) clearInterval(timer);
          timer = null;
        },
      });
    },
    names: () => jobs.map((job) => job.name),
    start(): void {
      if (started) return;
      started = true;
      for (const job of jobs) job.start();
    },
    /** In reverse order of registration; a job not started stops as a no-op. */
    stop(): void {
      started = false;
      for (const job of [...jobs].reverse()) job.stop();
    },
  };
}

export type Jobs = ReturnType<typeof createJobs>;
