// Requests that a newer one replaces: a filter typed while the last search is
// still out must win, whatever order the answers come back in.

/**
 * Numbers the searches: `next()` starts a new one (every earlier one is then
 * superseded), `same()` continues the current one (the next page of it). Each
 * returns a check to make when the answer arrives: drop the answer when it says
 * false.
 */
export class Latest {
  private generation = 0;

  next(): () => boolean {
    const mine = ++this.generation;
    return () => mine === this.generation;
  }

  same(): () => boolean {
    const mine = this.generation;
    return () => mine === this.generation;
  }

  /** Supersedes everything started so far (the page is closing). */
  cancel(): void {
    this.generation += 1;
  }
}

/** Runs the last thing scheduled once `ms` have passed without another. */
export class Debouncer {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ms: number) {}

  schedule(run: () => void): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      run();
    }, this.ms);
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  get isPending(): boolean {
    return this.timer !== null;
  }
}
