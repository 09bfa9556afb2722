/**
 * Work its caller starts and does not wait for (a push handler after the request, a usage counter write),
 * kept until it settles so that shutdown, and tests, can wait for all of it. What is added must not reject:
 * catch (and log) before adding.
 */
export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();

  add(work: Promise<void>): void {
    const run = work.finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves when everything added so far, and anything added meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
