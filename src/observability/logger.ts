/** pino JSON logs: denials and warnings at info, request detail at debug (README: Observability). */
import { pino, Logger } from "pino";
import { stdoutSink } from "./stdout-sink.js";
import { textStream } from "./text-log.js";

export type { Logger } from "pino";
export { LOG_BUFFER_BYTES, StdoutSink, stdoutSink } from "./stdout-sink.js";

/**
 * `json` (one JSON object a line: what a pod writes), `text` (one readable
 * line per event, src/observability/text-log.ts), `auto`: text when the
 * destination (stdout when none is given) is a terminal, else json.
 */
export const LOG_FORMATS = ["auto", "json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const isTTY = (s: NodeJS.WritableStream) => (s as { isTTY?: boolean }).isTTY === true;

/** Whether `format` means text for this destination. */
export function wantsText(format: LogFormat, destination?: NodeJS.WritableStream): boolean {
  if (format !== "auto") return format === "text";
  return isTTY(destination ?? process.stdout);
}

/**
 * A logger writing to `destination`, else to stdout through the process's
 * bounded sink (stdout-sink.ts: a full or closed stdout drops and counts
 * lines, never blocks, never grows the heap).
 */
export function createLogger(level = "info", destination?: NodeJS.WritableStream, format: LogFormat = "auto"): Logger {
  // `name` is the logger's: a log line names the object it is about `object`
  const opts = { level, name: "lbguard", base: { app: "lbguard" }, timestamp: pino.stdTimeFunctions.isoTime };
  const sink = destination ? undefined : stdoutSink();
  const to = destination ?? sink!;
  const log = wantsText(format, destination)
    ? pino(opts, textStream(to as unknown as NodeJS.WritableStream, isTTY(destination ?? process.stdout)) as never)
    : pino(opts, to as never);
  if (sink && level !== "silent")
    sink.onResume = (dropped) =>
      log.warn({ droppedLogLines: dropped }, "stdout did not take the log: lines were dropped");
  return log;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
