/** Which step serves a request, from its path alone. */
import type { Webhook } from "./types.js";

/** "probes": the express app, which serves /healthz, /readyz and every 404/405. */
export type Route = Webhook | "probes";

/** The path is the request target up to its `?`; compared in place, without slicing the URL. */
export function route(url: string): Route {
  if (isPath(url, "/validate")) return "validate";
  if (isPath(url, "/mutate")) return "mutate";
  return "probes";
}

function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f); // "?"
}
