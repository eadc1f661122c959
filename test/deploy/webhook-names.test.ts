/**
 * The webhook names `lbguard check` prints (kubectl's `admission webhook "…"
 * denied the request`) are the names deploy/base/webhooks.yaml gives the
 * entries that judge each kind in each namespace: read from that file, not
 * restated.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { WEBHOOKS, validatingWebhookFor } from "../../src/admission/webhooks.js";
import { ROOT } from "../helpers/paths.js";

interface Entry {
  name: string;
  rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values: string[] }[] };
}

const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, "deploy/base/webhooks.yaml"), "utf8")).map((d) => d.toJSON());
const validating: Entry[] = docs.find((d) => d?.kind === "ValidatingWebhookConfiguration")!.webhooks;
const mutating: Entry[] = docs.find((d) => d?.kind === "MutatingWebhookConfiguration")!.webhooks;

const KINDS: [kind: string, group: string, resource: string][] = [
  ["Service", "", "services"],
  ["IPAddressPool", "metallb.io", "ipaddresspools"],
  ["ConfigMap", "", "configmaps"],
  ["Pod", "", "pods"],
  ["DaemonSet", "apps", "daemonsets"],
  ["Deployment", "apps", "deployments"],
  ["StatefulSet", "apps", "statefulsets"],
];
const NAMESPACES = ["kube-system", "default", "shop", "harvester-system", "metallb-system"];

/** The entries whose rules and namespaceSelector (In / NotIn on the name label) match. */
function matching(entries: Entry[], group: string, resource: string, namespace: string): string[] {
  return entries
    .filter((e) => e.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource)))
    .filter((e) =>
      (e.namespaceSelector?.matchExpressions ?? []).every((x) => {
        expect(x.key).to.equal("kubernetes.io/metadata.name");
        return x.operator === "In" ? x.values.includes(namespace) : !x.values.includes(namespace);
      }),
    )
    .map((e) => e.name);
}

describe("deploy: webhook names in lbguard's output match deploy/base/webhooks.yaml", () => {
  for (const [kind, group, resource] of KINDS)
    for (const ns of NAMESPACES) {
      const hits = matching(validating, group, resource, ns);
      if (!hits.length) continue; // deploy sends nothing of this kind here (e.g. ConfigMaps outside kube-system)
      it(`${kind} in ${ns}: ${hits.join(", ")}`, () => {
        expect(hits).to.have.length(1);
        expect(validatingWebhookFor(kind, ns)).to.equal(hits[0]);
      });
    }

  it("names every entry the code knows", () => {
    const names = [...validating, ...mutating].map((e) => e.name).sort();
    expect(names).to.include.members(Object.values(WEBHOOKS));
    expect(matching(mutating, "", "services", "shop")).to.deep.equal([WEBHOOKS.defaultClass]);
  });
});
