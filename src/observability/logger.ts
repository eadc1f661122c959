/** pino JSON logs: denials and warnings at info, request detail at debug (README: Observability). */
import { pino, Logger } from "pino";

export type { Logger } from "pino";

export function createLogger(level = "info", destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { app: "lbguard" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination as never) : pino(opts);
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
