/**
 * Before the cache has synced, a finding that needs cluster state follows
 * failureMode under the family of the check that needed it: a mirror pod's is
 * mirrorPods (default warn), so a mirror pod is warned, never denied, while
 * lbguard starts (denying a mirror pod hides it but does not stop it).
 */
import { expect } from "chai";
import { MemoryView } from "../../src/cluster/view.js";
import { judge } from "../helpers/judge.js";
import { METALLB_NULL, policy } from "../helpers/policies.js";
import { staticPod } from "./workload-cases.js";

describe("rules: cluster state not synced yet", () => {
  const unsynced = () => new MemoryView({ ipaddresspools: "ipaddresspools not listed yet" });
  const mirror = {
    object: staticPod(
      { vip_arp: "true", cp_enable: "true", address: "10.0.5.10" },
      { mirror: true, node: "cp1", name: "kv" },
    ),
    user: "system:node:cp1",
  };

  it("warns about a mirror pod under mirrorPods: warn (failureMode closed)", () => {
    const j = judge(policy(METALLB_NULL), unsynced(), mirror);
    expect(j.allowed).to.equal(true);
    expect(j.rules).to.deep.equal(["cluster-state"]);
    expect(j.warnings).to.deep.equal([
      "lbguard is starting and has not synced cluster state yet (waiting for ipaddresspools not listed yet); retry in a few seconds",
    ]);
  });

  it("denies the same static pod as a plain Pod under kubeVip: deny", () => {
    const pod = staticPod({ vip_arp: "true", cp_enable: "true", address: "10.0.5.10" }, { name: "kv" });
    const j = judge(policy(METALLB_NULL), unsynced(), { object: pod });
    expect(j.allowed).to.equal(false);
    expect(j.rules).to.deep.equal(["cluster-state"]);
    expect(j.message).to.equal(
      "lbguard is starting and has not synced cluster state yet (waiting for ipaddresspools not listed yet); retry in a few seconds",
    );
  });

  it("denies a mirror pod once mirrorPods is deny", () => {
    const strict = policy(METALLB_NULL, (d) => (d.spec.enforcement = { mirrorPods: "deny" }));
    expect(judge(strict, unsynced(), mirror)).to.deep.include({ allowed: false, rules: ["cluster-state"] });
  });
});
