/**
 * Every number the HTTPS surface enforces, and where it comes from. The steps
 * (body.ts, deadline.ts, server.ts, inflight.ts) import them from here, so a
 * new limit is added here first.
 */

/**
 * Largest review body accepted: 7 MiB, the same as controller-runtime
 * (`maxRequestSize` in pkg/webhook/admission/http.go). That figure comes from
 * the API server's own limit on a write request (3 MiB: twice etcd's
 * recommended 1.5 MiB request, since JSON shrinks when stored as protobuf).
 * A review holds at most two objects (old and new, 3 MiB each) plus under
 * 1 MiB of everything else. The README (HTTP surface): over 7 MiB → 413.
 */
export const MAX_BODY = 7 * 1024 * 1024;

/**
 * Answer this long before the API server's own timeout (`?timeout=`), so
 * the answer and its TLS write arrive before the API server gives up on it
 * and applies failurePolicy. README: "lbguard answers 500 ms before it".
 */
export const DEADLINE_MARGIN_MS = 500;

/**
 * The deadline when `?timeout=` is missing or unreadable: 10 s, the default
 * `timeoutSeconds` of a webhook configuration.
 */
export const DEFAULT_REVIEW_TIMEOUT_MS = 10_000;

/**
 * The longest `?timeout=` believed: 30 s, the largest `timeoutSeconds` the
 * API server accepts in a webhook configuration (1 to 30 s).
 */
export const MAX_REVIEW_TIMEOUT_MS = 30_000;

/**
 * How long an idle kept-alive connection stays open: 65 s, longer than the
 * 60 s idle timeout common to load balancers and proxies (AWS ALB and others).
 * The peer should close first: if the server closed first, a review the peer
 * sent at that moment would hit a closed connection (ECONNRESET).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Time allowed to receive the request headers: 20 s, twice the default
 * review timeout. A request whose headers take that long can no longer be
 * answered in time; the limit is there to stop slow-header clients (slowloris).
 * node requires it to be below REQUEST_TIMEOUT_MS.
 */
export const HEADERS_TIMEOUT_MS = 20_000;

/**
 * Time allowed for a whole request, headers and body: 35 s, the longest
 * review timeout (MAX_REVIEW_TIMEOUT_MS) plus 5 s. node then never cuts off a
 * review the API server is still waiting for.
 */
export const REQUEST_TIMEOUT_MS = 35_000;

/**
 * Default time `drain()` waits for in-flight reviews before it closes the
 * remaining connections: 25 s. deploy/deployment.yaml uses a 30 s
 * terminationGracePeriodSeconds (the Kubernetes default), and `--shutdown-delay=5`
 * uses 5 s of that before the drain starts.
 */
export const DRAIN_GRACE_MS = 25_000;
