/**
 * Requests gathered into batches: what is asked for while a batch is under way waits for it, then goes with
 * everything else asked meanwhile in the next, one round trip for all of them; a lone request goes at once.
 * Each batch starts after every request in it was made, so its answer is as fresh as one of its own. A failed
 * batch fails the requests in it, and only those; an answer that throws fails its own request only.
 */
export class Gathering<Request, Answer> {
  private readonly waiting: {
    request: Request;
    resolve(answer: Answer): void;
    reject(error: unknown): void;
  }[] = [];
  private running = false;

  /** `run` does a whole batch and returns how to answer each request of it. */
  constructor(
    private readonly run: (requests: Request[]) => Promise<(request: Request) => Answer>,
    private readonly maxBatch = 500,
  ) {}

  ask(request: Request): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    const batch = this.waiting.splice(0, this.maxBatch);
    void this.run(batch.map((waiting) => waiting.request))
      .then(
        (answer) => {
          for (const waiting of batch) {
            try {
              waiting.resolve(answer(waiting.request));
            } catch (error) {
              waiting.reject(error);
            }
          }
        },
        (error: unknown) => batch.forEach((waiting) => waiting.reject(error)),
      )
      .finally(() => {
        this.running = false;
        this.next();
      });
  }
}
