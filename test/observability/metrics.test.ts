/**
 * The metrics of SPEC §8 and README "Observability": the names stay, denials,
 * warnings and audited reviews carry a bounded `rule` label, and
 * `lbguard_build_info` and `lbguard_event_loop_delay_seconds` are exported.
 */
import { expect } from "chai";
import { Metrics } from "../../src/observability/metrics.js";
import { RULE_IDS } from "../../src/rules/catalogue.js";
import { packageVersion } from "../../src/version.js";

describe("observability: metrics", () => {
  let m: Metrics;
  beforeEach(() => {
    m = new Metrics(false);
  });
  afterEach(() => m.close());
  const text = () => m.registry.metrics();

  it("keeps the SPEC §8 names", async () => {
    m.observe("validate", "Service", "CREATE", "allowed", 0.001);
    m.cacheSynced.labels("services").set(1);
    m.policyReloads.labels("success").inc();
    m.certExpiry.set(1_900_000_000);
    const t = await text();
    for (const name of [
      "lbguard_admission_requests_total",
      "lbguard_admission_duration_seconds",
      "lbguard_cache_synced",
      "lbguard_policy_reloads_total",
      "lbguard_certificate_expiry_timestamp_seconds",
      "lbguard_build_info",
      "lbguard_event_loop_delay_seconds",
    ])
      expect(t, name).to.include(`# TYPE ${name} `);
    expect(t).to.include("# TYPE lbguard_event_loop_delay_seconds summary");
    expect(t).to.include('lbguard_admission_duration_seconds_bucket{le="0.0005",webhook="validate",kind="Service"} 0');
  });

  it("adds the rule of a denial, warning or audit; none on allowed answers", async () => {
    m.observe("validate", "Service", "CREATE", "allowed", 0.001);
    m.observe("validate", "Service", "CREATE", "denied", 0.001, "service.foreign-address");
    m.observe("validate", "Service", "CREATE", "denied", 0.001, "service.foreign-address");
    m.observe("validate", "IPAddressPool", "CREATE", "warned", 0.001, "pool.foreign-namespace");
    m.observe("validate", "Service", "UPDATE", "audited", 0.001, "foreign-write");
    const t = await text();
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="CREATE",decision="allowed"} 1',
    );
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="CREATE",decision="denied",rule="service.foreign-address"} 2',
    );
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="IPAddressPool",operation="CREATE",decision="warned",rule="pool.foreign-namespace"} 1',
    );
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="UPDATE",decision="audited",rule="foreign-write"} 1',
    );
  });

  it("the rule label is bounded: catalogue ids, anything else is other", async () => {
    for (let i = 0; i < 500; i++) m.observe("validate", "Service", "CREATE", "denied", 0.001, `made-up-${i}`);
    for (const r of RULE_IDS) m.observe("validate", "Service", "CREATE", "denied", 0.001, r);
    const t = await text();
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="CREATE",decision="denied",rule="other"} 500',
    );
    const series = t.split("\n").filter((l) => l.startsWith("lbguard_admission_requests_total{"));
    // every catalogue id, other, and the two foreign-write series that exist from the start
    expect(series).to.have.length(RULE_IDS.length + 1 + 2);
    expect(Metrics.ruleLabel("pool.overlap")).to.equal("pool.overlap");
    expect(Metrics.ruleLabel("x")).to.equal("other");
  });

  it("the foreign-write series the alert watches exist at 0 before the first denial", async () => {
    const t = await text();
    expect(t).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="UPDATE",decision="denied",rule="foreign-write"} 0',
    );
    m.observe("validate", "Service", "UPDATE", "denied", 0.001, "foreign-write");
    expect(await text()).to.include(
      'lbguard_admission_requests_total{webhook="validate",kind="Service",operation="UPDATE",decision="denied",rule="foreign-write"} 1',
    );
  });

  it("lbguard_build_info carries the package version", async () => {
    expect(await text()).to.include(`lbguard_build_info{version="${packageVersion()}"} 1`);
    expect(packageVersion()).to.match(/^\d+\.\d+\.\d+/);
  });

  it("lbguard_event_loop_delay_seconds: quantiles of the samples since the last scrape, sum and count accumulate", async () => {
    // block the loop for ~60 ms, then let the 10 ms timer sample it
    await new Promise((r) => setTimeout(r, 30));
    const until = Date.now() + 60;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 40));
    const t1 = await text();
    const q = (t: string, quantile: string) =>
      Number(new RegExp(`lbguard_event_loop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)`).exec(t)?.[1]);
    const count = (t: string) => Number(/lbguard_event_loop_delay_seconds_count (\S+)/.exec(t)?.[1]);
    const sum = (t: string) => Number(/lbguard_event_loop_delay_seconds_sum (\S+)/.exec(t)?.[1]);
    expect(count(t1)).to.be.greaterThan(0);
    expect(q(t1, "0.99")).to.be.greaterThan(0.03);
    expect(q(t1, "0.5")).to.be.at.least(0);
    expect(sum(t1)).to.be.greaterThan(0.03);
    await new Promise((r) => setTimeout(r, 50));
    const t2 = await text();
    expect(count(t2)).to.be.greaterThan(count(t1));
    expect(sum(t2)).to.be.at.least(sum(t1));
    // the blocked stretch was before the previous scrape: today's quantiles no longer show it
    expect(q(t2, "0.99")).to.be.lessThan(q(t1, "0.99"));
  });
});
