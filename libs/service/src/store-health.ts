/** How long a process waits on its store before it counts it as gone, and before it gives up. */
export interface StoreHealthOptions {
  /** A probe that takes longer than this counts as no answer. */
  timeoutMs: number;
  /** How long the store may go without answering before the process gives up (and exits, to be restarted). */
  giveUpAfterMs: number;
  /** How often to probe. */
  everyMs: number;
}

export type StoreHealthChange =
  | { kind: 'lost'; problem: string }
  | { kind: 'regained'; downMs: number }
  | { kind: 'given-up'; problem: string; downMs: number };

export interface StoreCheck {
  ok: boolean;
  /** 'ok', or what is wrong, for a readiness answer. */
  detail: string;
}

/**
 * Watches whether the store answers, with bounds: one probe at a time (a frozen store does not pile probes
 * up), each answer awaited at most `timeoutMs`. A process hears when the store is lost (and stops taking
 * work), regained (and takes work again), or gone for longer than `giveUpAfterMs` (and exits, so that a
 * supervisor restarts it with fresh connections). Readiness asks `check()`, which answers within the bound
 * whatever the store does.
 */
export class StoreHealth {
  private pending?: Promise<StoreCheck>;
  private pendingSince = 0;
  private downSince?: number;
  private problem = '';
  private givenUp = false;
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<(change: StoreHealthChange) => void>();

  constructor(
    private readonly probe: () => Promise<unknown>,
    readonly options: StoreHealthOptions,
  ) {}

  get healthy(): boolean {
    return this.downSince === undefined;
  }

  /** Calls `listener` on every change from now on; returns how to stop listening. */
  onChange(listener: (change: StoreHealthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      void this.check().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.options.everyMs).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Probes the store, or joins the probe under way; answers within `timeoutMs`. */
  async check(): Promise<StoreCheck> {
    if (!this.pending) {
      this.pendingSince = Date.now();
      const probe = this.probe().then(
        () => this.answered({ ok: true, detail: 'ok' }),
        (error: unknown) =>
          this.answered({ ok: false, detail: `unreachable: ${(error as Error)?.message ?? String(error)}` }),
      );
      this.pending = probe;
      void probe.finally(() => {
        if (this.pending === probe) this.pending = undefined;
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<StoreCheck>((resolve) => {
      timer = setTimeout(() => {
        const waited = Date.now() - this.pendingSince;
        resolve(this.answered({ ok: false, detail: `no answer for ${Math.round(waited / 1000)} s` }, false));
      }, this.options.timeoutMs);
    });
    try {
      return await Promise.race([this.pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records an answer (or the lack of one); `final` is false while the probe may still answer. */
  private answered(check: StoreCheck, final = true): StoreCheck {
    const now = Date.now();
    if (check.ok) {
      if (this.downSince !== undefined && final) {
        const downMs = now - this.downSince;
        this.downSince = undefined;
        this.givenUp = false;
        this.emit({ kind: 'regained', downMs });
      }
      return check;
    }
    this.problem = check.detail;
    if (this.downSince === undefined) {
      // A probe that never answers has been failing since it was sent.
      this.downSince = final ? now : this.pendingSince;
      this.emit({ kind: 'lost', problem: check.detail });
    }
    const downMs = now - this.downSince;
    if (!this.givenUp && downMs >= this.options.giveUpAfterMs) {
      this.givenUp = true;
      this.emit({ kind: 'given-up', problem: this.problem, downMs });
    }
    return check;
  }

  private emit(change: StoreHealthChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
