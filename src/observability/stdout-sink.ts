/**
 * Where the log goes when no destination is given: stdout, never buffering
 * more than LOG_BUFFER_BYTES and never blocking or retrying.
 *
 * pino's default destination (sonic-boom on fd 1) keeps every line a full
 * pipe does not take, retries EAGAIN, and at exit loops in flushSync until
 * the pipe drains: with nobody reading stdout, `lbguard serve` never
 * finished its SIGTERM (BENCHMARKS.md "Faults"). Here lines go to
 * process.stdout (non-blocking for a pipe): when what it has not yet written
 * would pass LOG_BUFFER_BYTES, or after stdout failed (EPIPE: `serve … |
 * head`), a line is dropped and counted; when stdout takes lines again, a
 * warning says how many were dropped. Nothing here ever waits on stdout
 * except `flush`, which is bounded by its timeout.
 */

/**
 * Log bytes kept while stdout does not take them: 4 MiB, about 6,000 denial
 * lines (one info line per denied review, about 700 bytes): a few seconds of
 * a denial storm, and nothing next to the heap.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

export class StdoutSink {
  /** lines dropped since start: stdout was full or gone */
  dropped = 0;
  /** lines handed to stdout */
  written = 0;
  /** stdout is a terminal (the text format colours it) */
  readonly isTTY: boolean;
  /** called before the first line written after drops, with their number (the logger warns through it) */
  onResume?: (dropped: number) => void;
  private unreported = 0;
  private broken = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    readonly max = LOG_BUFFER_BYTES,
  ) {
    this.isTTY = out.isTTY === true;
    // EPIPE and friends: stop writing; an 'error' without a listener would crash the process
    out.on("error", () => {
      this.broken = true;
    });
  }

  /** stdout failed (EPIPE): every later line is dropped */
  get closed(): boolean {
    return this.broken;
  }

  write(line: string): boolean {
    // string length ≤ its UTF-8 bytes ≤ 3× it: close enough for a bound
    if (this.broken || this.out.writableLength + line.length > this.max) {
      this.dropped++;
      this.unreported++;
      return true;
    }
    if (this.unreported) {
      const n = this.unreported;
      this.unreported = 0;
      this.onResume?.(n);
    }
    this.written++;
    this.out.write(line);
    return true;
  }

  /** Resolves once stdout has taken every line, it failed, or `timeoutMs` passed, whichever is first. */
  flush(timeoutMs: number): Promise<void> {
    if (this.broken || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.out.off("drain", done);
        this.out.off("error", done);
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      t.unref();
      this.out.once("drain", done);
      this.out.once("error", done);
    });
  }
}

let sink: StdoutSink | undefined;

/** The process's one stdout sink. */
export function stdoutSink(): StdoutSink {
  return (sink ??= new StdoutSink());
}
