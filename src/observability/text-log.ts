/**
 * Logs for people (`--log-format text`, the default on a terminal): each pino
 * JSON line becomes one readable line,
 *
 *   2026-05-04T10:00:00.000Z INFO  Service traefik/traefik: 10.0.4.247 is … uid=… kind=Service … rule=service.control-plane-vip
 *
 * time, level, message, then the other fields as key=value (strings quoted
 * only when they need it, objects and arrays as compact JSON). No dependency
 * and no worker thread; in JSON mode (a pod) none of this runs.
 */

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
/** fields every line has, or that the line already shows */
const SKIP = new Set(["time", "level", "msg", "pid", "hostname", "app", "name", "v"]);
const BARE = /^[^\s"=\\]+$/;

function value(v: unknown): string {
  if (typeof v === "string") return v !== "" && BARE.test(v) ? v : JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  return JSON.stringify(v);
}

function errText(e: unknown): string {
  if (e && typeof e === "object") {
    const o = e as { type?: string; message?: string };
    if (typeof o.message === "string")
      return value(o.type && o.type !== "Error" ? `${o.type}: ${o.message}` : o.message);
  }
  return value(e);
}

/** One JSON log line (pino's output, with or without its newline) as one readable line with a newline. */
export function textLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith("\n") ? json : json + "\n";
  }
  if (!o || typeof o !== "object") return json.endsWith("\n") ? json : json + "\n";
  const level = typeof o.level === "number" ? o.level : 30;
  const name = (LEVELS[level] ?? String(o.level)).padEnd(5);
  const lvl = color ? `\x1b[${COLORS[level] ?? "0"}m${name}\x1b[0m` : name;
  const time = typeof o.time === "string" ? o.time : typeof o.time === "number" ? new Date(o.time).toISOString() : "";
  const msg = typeof o.msg === "string" ? o.msg.replace(/[\r\n]+/g, " ") : "";
  let out = `${time ? time + " " : ""}${lvl} ${msg}`;
  for (const [k, v] of Object.entries(o)) {
    if (SKIP.has(k) || v === undefined) continue;
    out += ` ${k}=${k === "err" ? errText(v) : value(v)}`;
  }
  return out.replace(/[\r\n]+/g, " ") + "\n";
}

/**
 * A pino destination that writes each line as text to `to`, coloured when
 * the terminal is (`tty`: by default whether `to` is one; NO_COLOR turns colour off).
 */
export function textStream(
  to: NodeJS.WritableStream,
  tty = (to as { isTTY?: boolean }).isTTY === true,
): { write(line: string): boolean } {
  const color = tty && !process.env.NO_COLOR;
  return { write: (line: string) => to.write(textLine(line, color)) };
}
