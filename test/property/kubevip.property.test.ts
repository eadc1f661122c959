import { expect } from "chai";
import fc from "fast-check";
import { BOOL_ENV, cloudProviderConfig, effectiveConfig, goParseBool, SVC_GATED } from "../../src/kubevip/effective.js";

const envName = fc.oneof(
  fc.constantFrom(...BOOL_ENV, ...SVC_GATED, "address", "vip_address", "cp_namespace", "EGRESS_CLEAN", "SVC_ENABLE"),
  fc.string({ maxLength: 12 }),
);
const envValue = fc.oneof(
  fc.constantFrom("true", "false", "1", "0", "t", "F", "TRUE", "yes", "on", "", " true", "10.0.0.1", "ns/lease"),
  fc.string({ maxLength: 20 }),
);
const envVar = fc.oneof(
  fc.record({ name: envName, value: envValue }),
  fc.record({ name: envName, valueFrom: fc.constant({ fieldRef: { fieldPath: "spec.nodeName" } }) }),
  fc.record({ name: envName }),
  fc.anything(),
);
const flag = fc.oneof(
  fc.constantFrom(
    "manager",
    "--services",
    "--services=yes",
    "--services=false",
    "--lbClassOnly",
    "--lbClassName=x.io/y",
    "--lbClassName",
    "--servicesLeaseName",
    "--controlplane",
    "--address",
    "10.0.0.9",
    "--arp",
    "--bgp",
    "-n",
    "kube-system",
    "--config-file",
    "--",
  ),
  fc.string({ maxLength: 16 }),
);
const image = fc.oneof(
  fc.constantFrom(
    "ghcr.io/kube-vip/kube-vip:v1.2.3",
    "plndr/kube-vip:v0.4.0",
    "plndr/kube-vip:v0.5.7",
    "ghcr.io/kube-vip/kube-vip",
    "x/kube-vip@sha256:ab",
    "kube-vip:main",
  ),
  fc.string(),
);

describe("property: kube-vip's effective configuration", () => {
  it("never throws on arbitrary env, args, command, envFrom and image", () => {
    fc.assert(
      fc.property(
        fc.array(envVar, { maxLength: 12 }),
        fc.array(flag, { maxLength: 8 }),
        fc.option(fc.array(flag, { maxLength: 3 })),
        image,
        fc.anything(),
        fc.boolean(),
        (env, args, command, img, envFrom, token) => {
          const c = effectiveConfig(
            { name: "kube-vip", image: img, env, args, command: command ?? undefined, envFrom },
            { namespace: "kube-system", tokenMounted: token },
          );
          if (!c.services.value) expect(c.claims.all || c.claims.classes.size).to.not.be.ok;
          cloudProviderConfig({ image: img, env, envFrom });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("env svc_enable decides over the --services flag, and only ParseBool's spellings are accepted", () => {
    fc.assert(
      fc.property(envValue, fc.boolean(), (value, flagOn) => {
        const c = effectiveConfig(
          {
            image: "ghcr.io/kube-vip/kube-vip:v1.2.3",
            env: [{ name: "svc_enable", value }],
            args: flagOn ? ["manager", "--services"] : ["manager"],
          },
          { namespace: "kube-system", tokenMounted: true },
        );
        const parsed = goParseBool(value);
        if (value === "") expect(c.services.value).to.equal(flagOn);
        else if (parsed === undefined) expect(c.invalidBools.map((b) => b.key)).to.include("svc_enable");
        else {
          expect(c.services.value).to.equal(parsed);
          expect(c.services.from).to.equal("env");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("lb_class_only narrows claims to a single class (v0.5.5 and later)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("v0.5.5", "v0.6.0", "v0.8.1", "v1.2.3", ""),
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s),
        (tag, cls) => {
          const c = effectiveConfig(
            {
              image: `x/kube-vip${tag ? `:${tag}` : ""}`,
              args: ["manager"],
              env: [
                { name: "vip_arp", value: "true" },
                { name: "svc_enable", value: "true" },
                { name: "lb_class_only", value: "true" },
                { name: "lb_class_name", value: cls },
              ],
            },
            { namespace: "kube-system", tokenMounted: true },
          );
          expect(c.claims.all).to.equal(false);
          expect((c.claims as { classes: Set<string | null> }).classes.has(null)).to.equal(false);
          expect((c.claims as { classes: Set<string | null> }).classes.size).to.equal(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});
