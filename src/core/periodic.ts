/**
 * A task that runs now and then every `intervalMs` — the database pollers' shared lifecycle:
 * runs are chained, never concurrent (a slow database delays the next run instead of stacking
 * queries), the timer never keeps the process alive, and `stop` resolves once a run in flight has
 * finished (so the store can close after it). `run` must not reject.
 */
export class Periodic {
  readonly #run: () => Promise<void>;
  readonly #intervalMs: number;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  /** The run in flight (or the last one). */
  #chain: Promise<void> = Promise.resolve();

  constructor(run: () => Promise<void>, intervalMs: number) {
    if (!(intervalMs > 0)) throw new TypeError('intervalMs must be positive');
    this.#run = run;
    this.#intervalMs = intervalMs;
  }

  /** Runs once (awaited), then on the timer. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.runNow();
    this.#schedule();
  }

  /** Clears the timer; resolves once a run in flight has finished. */
  stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#chain;
  }

  /** One run now, after any run in flight. */
  runNow(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#run());
    return this.#chain;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.runNow().then(() => this.#schedule());
    }, this.#intervalMs);
    this.#timer.unref();
  }
}
