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
 * sent at that moment would hit a closed connection (ECONNRESET). Kept long on
 * purpose: the API server's own idle timeout is 90 s (Go's http.Transport
 * default), and a connection that sent nothing at all is bounded by
 * HEADERS_TIMEOUT_MS, not by this.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Time allowed to receive a request's headers: 10 s, the default review
 * timeout (DEFAULT_REVIEW_TIMEOUT_MS). A request whose headers take longer
 * can no longer be answered in time; the limit stops slow-header clients
 * (slowloris). For a connection's first request node counts it from the
 * connection's start, so it also closes a TLS connection that sends
 * nothing: 6,000 of them stayed open up to 50 s with the former 20 s
 * checked every 30 s, holding 278 MiB (BENCHMARKS.md "Faults"); the API
 * server sends its request as soon as the handshake completes. node requires
 * it to be below REQUEST_TIMEOUT_MS.
 */
export const HEADERS_TIMEOUT_MS = 10_000;

/**
 * Time allowed for a whole request, headers and body: 35 s, the longest
 * review timeout (MAX_REVIEW_TIMEOUT_MS) plus 5 s. A backstop only: the body
 * has its own deadline (the review's, body.ts), which is never later.
 */
export const REQUEST_TIMEOUT_MS = 35_000;

/**
 * How often node checks headersTimeout and requestTimeout: 1 s (node's
 * default is 30 s, which let a stalled request live up to 30 s past its
 * limit: measured 60 s for 35 s, BENCHMARKS.md "Faults").
 */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/**
 * Time allowed for the TLS handshake: 5 s (node's default is 120 s). On a
 * cluster network the handshake takes milliseconds; a connection stuck
 * before it holds a socket and a slot of MAX_CONNECTIONS.
 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Open connections accepted at once: 1024 (`server.maxConnections`; beyond,
 * node closes a new connection as soon as it is accepted). The API server
 * opens one connection per concurrent call to the webhook and keeps the idle
 * ones; a few API servers with tens of reviews in flight stay far below it.
 * Measured at 45 KiB per idle TLS connection (6,000 held 267-278 MiB), 1024 cost
 * at most about 45 MiB.
 */
export const MAX_CONNECTIONS = 1024;

/**
 * Bytes buffered across all review bodies not yet complete: 64 MiB, nine
 * bodies of the largest size (MAX_BODY) at once. Beyond it a request is
 * answered 503 at once (its body is discarded, not buffered), so unfinished
 * bodies can never grow the heap past this: 80 stalled 7 MiB bodies held
 * 660 MiB before the cap (BENCHMARKS.md "Faults"). deploy/ gives the pod a
 * 384 MiB limit; the view and the process take about 250 MiB of it.
 * A body declaring its Content-Length reserves that length when it starts.
 */
export const MAX_BUFFERED_BODY_BYTES = 64 * 1024 * 1024;

/**
 * How often unfinished bodies are checked against their deadline: 250 ms.
 * One shared timer for all bodies, so a review that arrives whole (nearly
 * all of them) costs no timer of its own; a stalled body is answered at
 * most this long after its deadline.
 */
export const BODY_SWEEP_MS = 250;

/**
 * Default time `drain()` waits for in-flight reviews before it closes the
 * remaining connections: 20 s. deploy/deployment.yaml uses a 30 s
 * terminationGracePeriodSeconds (the Kubernetes default), and
 * `--shutdown-delay=5` uses 5 s of that before the drain starts; 20 s + 5 s
 * + EXIT_MARGIN_MS leaves the process 3 s before the kubelet's SIGKILL.
 */
export const DRAIN_GRACE_MS = 20_000;

/**
 * After the drain's grace, the time left to write the last log lines before
 * `process.exit` whatever stdout does: 2 s. The exit timer of `lbguard serve`
 * is shutdown delay + DRAIN_GRACE_MS + EXIT_MARGIN_MS after SIGTERM, and
 * never waits for stdout.
 */
export const EXIT_MARGIN_MS = 2_000;

/**
 * While draining, a connection with no request in progress is closed once
 * it has read nothing for one sweep of 250 ms (checked after the event loop
 * has read the sockets, so a request already on its way is not cut off).
 * Answers carry `Connection: close` from SIGTERM on, so a client that keeps
 * sending is told to close; what remains idle is closed here rather than
 * kept until the grace period ends.
 */
export const DRAIN_IDLE_SWEEP_MS = 250;
