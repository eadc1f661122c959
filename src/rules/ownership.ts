/**
 * reservedAddresses: nobody's address space. The providers' own spaces are
 * their modules' `addressOwners` (src/providers).
 */
import type { Interval } from "../addr/interval.js";
import type { Policy } from "../policy/policy.js";
import type { AddressOwner } from "../providers/index.js";

export function reservedOwner(policy: Policy, iv: Interval): AddressOwner | undefined {
  const r = policy.reservedHit(iv);
  return r && { provider: "reserved", kind: "reserved", what: "reservedAddresses", entry: r.text };
}
