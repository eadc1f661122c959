/**
 * SPEC §7.6: labels that decide a namespace's provider are for namespaceAdmins.
 * Table cases under the Harvester policy (rule 2 selects `lbguard.dev/provider:
 * kube-vip`) and under a policy whose rules match by name only.
 */
import { expect } from "chai";
import { admit } from "../../src/admission/handler.js";
import { validatingWebhookFor } from "../../src/admission/webhooks.js";
import type { KubeObject } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import type { Policy } from "../../src/policy/policy.js";
import type { AdmissionInput, Operation } from "../../src/rules/types.js";
import { CLUSTER, viewOf } from "../helpers/cluster.js";
import type { Judgement } from "../helpers/judge.js";
import { KUBEVIP_NULL, METALLB_NULL, policy } from "../helpers/policies.js";
import { Expected, expectJudgement } from "./expected.js";

const view = viewOf(CLUSTER);
const kvNull = policy(KUBEVIP_NULL);
/** KUBEVIP_NULL without its selector rule: names decide, labels never do */
const namesOnly = policy(KUBEVIP_NULL, (d) => (d.spec.namespaces = [d.spec.namespaces[0]]));
const metallbNull = policy(METALLB_NULL);
/** a third rule that only widens allowedProviders, and one that selects by expression */
const widened = policy(KUBEVIP_NULL, (d) =>
  d.spec.namespaces.push(
    {
      selector: { matchLabels: { "lbguard.dev/allow": "kube-vip" } },
      provider: "metallb",
      allowedProviders: ["metallb", "kube-vip"],
    },
    { selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["edge"] }] }, provider: "kube-vip" },
  ),
);
const admins = policy(KUBEVIP_NULL, (d) => (d.spec.namespaceAdmins = ["platform-bot", "group:platform"]));
const enforced = (e: string) => policy(KUBEVIP_NULL, (d) => (d.spec.enforcement = { namespaces: e }));

const NAME_LABEL = "kubernetes.io/metadata.name";
const KV = { "lbguard.dev/provider": "kube-vip" };

function ns(name: string, labels?: Record<string, string>, withNameLabel = true): KubeObject {
  const l = withNameLabel ? { [NAME_LABEL]: name, ...labels } : labels;
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, ...(l ? { labels: l } : {}) } };
}

interface NsReq {
  operation?: Operation;
  object: KubeObject;
  oldObject?: KubeObject;
  user?: string;
  groups?: string[];
}

/** A Namespace review as the API server sends it (cluster-scoped: the namespace field is the name on UPDATE). */
function nsRequest(o: NsReq): AdmissionInput {
  const op = o.operation ?? (o.oldObject ? "UPDATE" : "CREATE");
  const name = o.object.metadata!.name as string;
  return {
    uid: `ns-${name}-${op}`,
    kind: { group: "", version: "v1", kind: "Namespace" },
    resource: { group: "", version: "v1", resource: "namespaces" },
    name,
    namespace: op === "UPDATE" ? name : "",
    operation: op,
    userInfo: { username: o.user ?? "alice", groups: o.groups ?? ["system:authenticated"] },
    object: o.object,
    oldObject: o.oldObject ?? null,
  };
}

/** `judge` of test/helpers for a Namespace request: the API server's mutate → validate. */
function judgeNs(p: Policy, o: NsReq): Judgement {
  const a = admit(nsRequest(o), view, p);
  expect(a.mutated.response.allowed, "no mutating check on namespaces").to.equal(true);
  expect(a.mutated.response.patch).to.equal(undefined);
  const v = a.validated!;
  return {
    allowed: v.response.allowed,
    object: a.object,
    patched: false,
    message: v.response.status?.message,
    warnings: v.response.warnings ?? [],
    rules: [...(v.verdict?.denials ?? []), ...(v.verdict?.warnings ?? [])].map((f) => f.rule),
  };
}

interface Case extends Expected {
  what: string;
  policy?: Policy;
  req: NsReq;
  allowed: boolean;
}

const RELABEL_LAB =
  "Namespace lab: labels would move it from metallb to kube-vip (rule 2 of the policy); only namespaceAdmins may change lbguard.dev/provider";

const KUBEVIP_NULL_CASES: Case[] = [
  {
    what: "a tenant labelling lab for kube-vip",
    req: { object: ns("lab", KV), oldObject: ns("lab") },
    allowed: false,
    rules: ["namespace.relabel"],
    denial: RELABEL_LAB,
  },
  {
    what: "a tenant taking the label off edge (back to the defaultProvider)",
    req: { object: ns("edge", { team: "edge" }), oldObject: ns("edge", { ...KV, team: "edge" }) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial:
      "Namespace edge: labels would move it from kube-vip to metallb (rule 2 of the policy would no longer match); only namespaceAdmins may change lbguard.dev/provider",
  },
  {
    what: "a tenant changing the deciding label's value",
    req: { object: ns("edge", { "lbguard.dev/provider": "metallb" }), oldObject: ns("edge", KV) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial:
      "Namespace edge: labels would move it from kube-vip to metallb (rule 2 of the policy would no longer match); only namespaceAdmins may change lbguard.dev/provider",
  },
  {
    what: "a tenant creating a namespace with the deciding label",
    req: { object: ns("lab", KV) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial: RELABEL_LAB,
  },
  {
    what: "a CREATE before the API server added the name label (lbguard check), judged the same",
    req: { object: ns("lab", KV, false) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial: RELABEL_LAB,
  },
  {
    what: "a relabel by system:masters (the default namespaceAdmins)",
    req: { object: ns("lab", KV), oldObject: ns("lab"), user: "kubernetes-admin", groups: ["system:masters"] },
    allowed: true,
    rules: [],
  },
  {
    what: "a CREATE with the deciding label by system:masters",
    req: { object: ns("lab", KV), user: "admin", groups: ["system:masters", "system:authenticated"] },
    allowed: true,
    rules: [],
  },
  {
    what: "an unrelated label change on a metallb namespace",
    req: { object: ns("shop", { tier: "silver" }), oldObject: ns("shop", { tier: "gold" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "an unrelated label change on a namespace the label moved to kube-vip",
    req: { object: ns("edge", { ...KV, team: "b" }), oldObject: ns("edge", { ...KV, team: "a" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "the deciding label with a value no rule selects",
    req: { object: ns("shop", { "lbguard.dev/provider": "metallb" }), oldObject: ns("shop") },
    allowed: true,
    rules: [],
  },
  {
    what: "a CREATE with only unrelated labels",
    req: { object: ns("lab", { team: "lab" }) },
    allowed: true,
    rules: [],
  },
  {
    what: "the deciding label on kube-system, which its names rule decides first",
    req: { object: ns("kube-system", KV), oldObject: ns("kube-system") },
    allowed: true,
    rules: [],
  },
  {
    what: "an UPDATE that leaves the labels alone",
    req: {
      object: { ...ns("edge", KV), spec: { finalizers: ["kubernetes"] } },
      oldObject: ns("edge", KV),
    },
    allowed: true,
    rules: [],
  },
  {
    what: "a forged kubernetes.io/metadata.name (the API server overwrites it; names rules read the name)",
    req: { object: ns("lab", { [NAME_LABEL]: "kube-system" }), oldObject: ns("lab") },
    allowed: true,
    rules: [],
  },
  // namespaceAdmins by username and by group
  {
    what: "a relabel by a user named in namespaceAdmins",
    policy: admins,
    req: { object: ns("lab", KV), oldObject: ns("lab"), user: "platform-bot" },
    allowed: true,
    rules: [],
  },
  {
    what: "a relabel by a member of a group:NAME entry",
    policy: admins,
    req: { object: ns("lab", KV), oldObject: ns("lab"), user: "carol", groups: ["system:authenticated", "platform"] },
    allowed: true,
    rules: [],
  },
  {
    what: "a relabel by system:masters once namespaceAdmins no longer lists it",
    policy: admins,
    req: { object: ns("lab", KV), oldObject: ns("lab"), user: "kubernetes-admin", groups: ["system:masters"] },
    allowed: false,
    rules: ["namespace.relabel"],
    denial: RELABEL_LAB,
  },
  {
    what: "a user whose name is a group of namespaceAdmins (a group entry is no username)",
    policy: admins,
    req: { object: ns("lab", KV), oldObject: ns("lab"), user: "platform" },
    allowed: false,
    rules: ["namespace.relabel"],
    denial: RELABEL_LAB,
  },
  // what the rules decide, not which rule: allowedProviders, matchExpressions
  {
    what: "a label that only widens allowedProviders",
    policy: widened,
    req: {
      object: ns("shop", { tier: "gold", "lbguard.dev/allow": "kube-vip" }),
      oldObject: ns("shop", { tier: "gold" }),
    },
    allowed: false,
    rules: ["namespace.relabel"],
    denial:
      "Namespace shop: labels would allow kube-vip beside metallb (rule 3 of the policy); only namespaceAdmins may change lbguard.dev/allow",
  },
  {
    what: "a label removal that narrows allowedProviders",
    policy: widened,
    req: { object: ns("shop"), oldObject: ns("shop", { "lbguard.dev/allow": "kube-vip" }) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial:
      "Namespace shop: labels would no longer allow kube-vip beside metallb (rule 3 of the policy would no longer match); only namespaceAdmins may change lbguard.dev/allow",
  },
  {
    what: "a matchExpressions selector, naming the key the request changes",
    policy: widened,
    req: { object: ns("shop", { tier: "edge" }), oldObject: ns("shop", { tier: "gold" }) },
    allowed: false,
    rules: ["namespace.relabel"],
    denial:
      "Namespace shop: labels would move it from metallb to kube-vip (rule 4 of the policy); only namespaceAdmins may change tier",
  },
  {
    what: "a move between two rules that decide the same (rule 2 to rule 4, both kube-vip only)",
    policy: policy(KUBEVIP_NULL, (d) => {
      d.spec.namespaces[1].allowedProviders = ["kube-vip"];
      d.spec.namespaces.push({ selector: { matchLabels: { tier: "edge" } }, provider: "kube-vip" });
    }),
    req: { object: ns("edge", { tier: "edge" }), oldObject: ns("edge", KV) },
    allowed: true,
    rules: [],
  },
  // enforcement
  {
    what: "a relabel under namespaces: warn (allowed, the denial as a warning)",
    policy: enforced("warn"),
    req: { object: ns("lab", KV), oldObject: ns("lab") },
    allowed: true,
    rules: ["namespace.relabel"],
    warnings: [RELABEL_LAB],
  },
  {
    what: "a relabel under namespaces: off",
    policy: enforced("off"),
    req: { object: ns("lab", KV), oldObject: ns("lab") },
    allowed: true,
    rules: [],
  },
  {
    what: "a CREATE under namespaces: off",
    policy: enforced("off"),
    req: { object: ns("lab", KV) },
    allowed: true,
    rules: [],
  },
];

const NAMES_ONLY_CASES: Case[] = [
  { what: "a relabel by a tenant", req: { object: ns("lab", KV), oldObject: ns("lab") } },
  { what: "taking the label off by a tenant", req: { object: ns("edge"), oldObject: ns("edge", KV) } },
  { what: "a CREATE with the label by a tenant", req: { object: ns("lab", KV) } },
  { what: "a CREATE of a namespace its names rule decides", req: { object: ns("harvester-system", KV) } },
].flatMap((c) => [
  { ...c, policy: namesOnly, allowed: true, rules: [] },
  { ...c, what: `${c.what} (MetalLB owns class-less Services)`, policy: metallbNull, allowed: true, rules: [] },
]);

function run(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases)
      it(`${c.allowed ? "allows" : "denies"} ${c.what}`, () => {
        expectJudgement(judgeNs(c.policy ?? kvNull, c.req), c);
      });
  });
}

run("rules/namespace: Namespace labels under a selector rule (KUBEVIP_NULL)", KUBEVIP_NULL_CASES);
run("rules/namespace: a policy whose rules match by name only never denies", NAMES_ONLY_CASES);

describe("rules/namespace: details", () => {
  it("reports the finding on metadata.labels with the subject Namespace <name>", () => {
    const a = admit(nsRequest({ object: ns("lab", KV), oldObject: ns("lab") }), view, kvNull);
    const [f] = a.validated!.verdict!.denials;
    expect(f).to.deep.include({
      rule: "namespace.relabel",
      family: "namespaces",
      field: "metadata.labels",
      subject: { kind: "Namespace", name: "lab" },
      fix: "only namespaceAdmins may change lbguard.dev/provider",
    });
  });

  it("answers a denial with 403 Forbidden", () => {
    const r = admit(nsRequest({ object: ns("lab", KV) }), view, kvNull).validated!.response;
    expect(r.status).to.deep.equal({ code: 403, reason: "Forbidden", message: RELABEL_LAB });
  });

  it("needs no cluster state: an unsynced view decides the same", () => {
    const unsynced = new MemoryView({ namespaces: "namespaces" });
    expect(unsynced.synced).to.equal(false);
    const r = admit(nsRequest({ object: ns("lab", KV) }), unsynced, kvNull).validated!.response;
    expect(r.status?.message).to.equal(RELABEL_LAB);
    const ok = admit(nsRequest({ object: ns("lab", { team: "x" }) }), unsynced, kvNull).validated!.response;
    expect(ok.allowed).to.equal(true);
  });

  it("routes Namespace denials to the namespaces.lbguard.dev webhook", () => {
    expect(validatingWebhookFor("Namespace")).to.equal("namespaces.lbguard.dev");
  });
});
