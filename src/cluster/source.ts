/**
 * Where a cluster view comes from. Sources own this interface: the snapshot
 * source (files) and the live source (informers) implement it, and `serve`
 * only ever asks for the current view.
 */
import type { ClusterView } from "./view.js";

export interface ViewSource {
  /** the current view; a snapshot reload swaps in a new one whole */
  view(): ClusterView;
  close(): void | Promise<void>;
}
