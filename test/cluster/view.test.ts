import { expect } from "chai";
import fc from "fast-check";
import type { Interval } from "../../src/addr/interval.js";
import { Family, formatIP } from "../../src/addr/ip.js";
import { parseMetalLBEntry } from "../../src/addr/metallb.js";
import type { PoolRec, ServiceRec } from "../../src/cluster/records.js";
import { MemoryView } from "../../src/cluster/view.js";
import { poolAdmits } from "../../src/providers/metallb-pools.js";

/**
 * The view's Service table and pool index against plain models: what the
 * view answers must not depend on how it stores Services (rows of typed
 * arrays, sorted per class, merged lazily) or indexes pools.
 */

const NS = ["a", "b", "kube-system"];
const NAMES = ["s1", "s2", "s3", "web", "dns", "x"];
const CLASSES = [null, "metallb", "kube-vip.io/kube-vip-class"];
const V4 = [0n, 1n, 2n, 3n, 10n, 0xffffffffn, 0x0a000001n];
const V6 = [0n, 1n, 5n, 1n << 64n, (1n << 96n) + 7n, (1n << 128n) - 1n];

const addrArb = fc.tuple(fc.constantFrom<Family>(4, 6), fc.nat(5), fc.boolean()).map(([fam, i, odd]) => {
  const v = fam === 4 ? V4[i % V4.length] : V6[i % V6.length];
  const canonical = formatIP(fam, v);
  // a non-canonical spelling (as users write them) must come back as written
  return { fam, v, text: odd ? (fam === 6 ? canonical.toUpperCase() + "" : `0${canonical}`) : canonical };
});

const svcArb = fc
  .record({
    ns: fc.constantFrom(...NS),
    name: fc.constantFrom(...NAMES),
    cls: fc.constantFrom(...CLASSES),
    addrs: fc.uniqueArray(addrArb, { maxLength: 3, selector: (a) => `${a.fam}/${a.v}` }),
    share: fc.option(fc.constantFrom("k1", "k2"), { nil: undefined }),
  })
  .map(({ ns, name, cls, addrs, share }) => {
    const rec: ServiceRec = { kind: "Service", namespace: ns, name, cls, addrs: [] };
    rec.addrs = addrs.map((a) => ({ fam: a.fam, lo: a.v, hi: a.v, text: a.text, svc: rec }));
    if (share) rec.share = share;
    return rec;
  });

const ivArb: fc.Arbitrary<Interval> = fc
  .tuple(fc.constantFrom<Family>(4, 6), fc.nat(6), fc.nat(6))
  .map(([fam, i, j]) => {
    const vs = fam === 4 ? V4 : V6;
    const [a, b] = [vs[i % vs.length], vs[j % vs.length]];
    return { fam, lo: a < b ? a : b, hi: a < b ? b : a };
  });

type Op =
  | { op: "put"; rec: ServiceRec }
  | { op: "remove"; ns: string; name: string }
  | { op: "query"; cls: string | null; any: boolean; iv: Interval; stop: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: svcArb.map((rec) => ({ op: "put" as const, rec })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...NS), fc.constantFrom(...NAMES))
      .map(([ns, name]) => ({ op: "remove" as const, ns, name })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ cls: fc.constantFrom(...CLASSES), any: fc.boolean(), iv: ivArb, stop: fc.nat(4) })
      .map((q) => ({ op: "query" as const, ...q })),
  },
);

const plain = (s: ServiceRec | undefined) =>
  s && {
    namespace: s.namespace,
    name: s.name,
    cls: s.cls,
    share: s.share,
    addrs: s.addrs.map((a) => ({
      fam: a.fam,
      lo: a.lo,
      hi: a.hi,
      text: a.text,
      svc: `${a.svc.namespace}/${a.svc.name}`,
    })),
  };

describe("cluster/view: the Service table against a model", () => {
  it("lookups and address queries answer as a list of records would, in address then insertion order", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const view = new MemoryView();
        const model = new Map<string, { rec: ServiceRec; seqs: number[] }>();
        const classOrder: (string | null)[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.op === "put") {
            view.put(o.rec);
            model.delete(`${o.rec.namespace}/${o.rec.name}`);
            model.set(`${o.rec.namespace}/${o.rec.name}`, { rec: o.rec, seqs: o.rec.addrs.map(() => seq++) });
            if (!classOrder.includes(o.rec.cls)) classOrder.push(o.rec.cls);
          } else if (o.op === "remove") {
            view.removeKey("Service", o.ns, o.name);
            model.delete(`${o.ns}/${o.name}`);
          } else {
            const hits = (cls: string | null) =>
              [...model.values()]
                .filter((m) => m.rec.cls === cls)
                .flatMap((m) => m.rec.addrs.map((a, i) => ({ a, seq: m.seqs[i] })))
                .filter(({ a }) => a.fam === o.iv.fam && a.lo <= o.iv.hi && o.iv.lo <= a.hi)
                .sort((x, y) => (x.a.lo < y.a.lo ? -1 : x.a.lo > y.a.lo ? 1 : x.seq - y.seq))
                .map(({ a }) => `${a.svc.namespace}/${a.svc.name} ${a.text}`);
            const want = (o.any ? classOrder.flatMap(hits) : hits(o.cls)).slice(0, o.stop || Infinity);
            const got: string[] = [];
            const fn = (svc: ServiceRec, a: ServiceRec["addrs"][number]) => {
              expect(a.svc).to.equal(svc);
              got.push(`${svc.namespace}/${svc.name} ${a.text}`);
              return got.length === o.stop;
            };
            if (o.any) view.forEachServiceAddrAnyClass(o.iv, fn);
            else view.forEachServiceAddr(o.cls, o.iv, fn);
            // across classes the order is unspecified (callers take any hit): compare as sets, and the count
            if (o.any && !o.stop) expect([...got].sort()).to.deep.equal([...want].sort());
            else if (o.any) expect(got.length).to.equal(want.length);
            else expect(got).to.deep.equal(want);
          }
        }
        for (const ns of NS)
          for (const name of NAMES)
            expect(plain(view.service(ns, name))).to.deep.equal(plain(model.get(`${ns}/${name}`)?.rec));
        expect(view.counts().services).to.equal(model.size);
        view.settle();
        for (const { rec } of model.values())
          expect(plain(view.service(rec.namespace, rec.name))).to.deep.equal(plain(rec));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps 20,000 Services through churn: replaced, removed, put again", () => {
    const view = new MemoryView();
    const rec = (i: number, round: number): ServiceRec => {
      const r: ServiceRec = {
        kind: "Service",
        namespace: `ns-${i % 97}`,
        name: `svc-${i}`,
        cls: i % 3 ? "metallb" : null,
        addrs: [],
      };
      const v = BigInt(0x0a000000 + i * 4 + round);
      r.addrs = [{ fam: 4, lo: v, hi: v, text: formatIP(4, v), svc: r }];
      return r;
    };
    for (let i = 0; i < 20_000; i++) view.put(rec(i, 0));
    view.settle();
    for (let i = 0; i < 20_000; i += 2) view.put(rec(i, 1));
    for (let i = 1; i < 20_000; i += 4) view.removeKey("Service", `ns-${i % 97}`, `svc-${i}`);
    expect(view.counts().services).to.equal(15_000);
    for (const i of [0, 1, 2, 3, 19_998, 19_999]) {
      const s = view.service(`ns-${i % 97}`, `svc-${i}`);
      if (i % 4 === 1) expect(s).to.equal(undefined);
      else
        expect(s?.addrs.map((a) => a.text)).to.deep.equal([formatIP(4, BigInt(0x0a000000 + i * 4 + (i % 2 ? 0 : 1)))]);
    }
    const all: string[] = [];
    view.forEachServiceAddrAnyClass({ fam: 4, lo: 0n, hi: 0xffffffffn }, (s) => void all.push(s.name));
    expect(all.length).to.equal(15_000);
    const hit: string[] = [];
    view.forEachServiceAddr(
      "metallb",
      { fam: 4, lo: 0x0a000000n + 8n, hi: 0x0a000000n + 8n + 7n },
      (s, a) => void hit.push(`${s.name} ${a.text}`),
    );
    expect(hit).to.deep.equal(["svc-2 10.0.0.9"]);
  });
});

const poolArb = fc.record({
  name: fc.constantFrom("p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"),
  alloc: fc.option(
    fc.record({
      namespaces: fc.array(fc.constantFrom(...NS), { maxLength: 3 }),
      nsSel: fc.boolean(),
      svcSel: fc.boolean(),
    }),
    { nil: undefined },
  ),
});

describe("cluster/view: pools by the namespaces they admit", () => {
  it("forEachPoolFor lists, in pools() order, exactly the pools whose namespace list does not rule the namespace out", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), poolArb), { maxLength: 80 }), (ops) => {
        const view = new MemoryView();
        for (const [remove, p] of ops) {
          if (remove && ops.length % 3 === 0) {
            view.removeKey("IPAddressPool", "metallb-system", p.name);
            continue;
          }
          const rec: PoolRec = {
            kind: "IPAddressPool",
            namespace: p.name === "p7" ? "other" : "metallb-system",
            name: p.name,
            entries: [parseMetalLBEntry("10.0.0.0/24")],
            autoAssign: true,
            avoidBuggyIPs: false,
            serviceAllocation: p.alloc && {
              namespaces: p.alloc.namespaces,
              namespaceSelectors: p.alloc.nsSel ? [{ matchLabels: { team: "x" } }] : [],
              serviceSelectors: p.alloc.svcSel ? [{ matchLabels: { app: "y" } }] : [],
            },
          };
          view.put(rec);
        }
        for (const ns of [...NS, "elsewhere"]) {
          const got: string[] = [];
          view.forEachPoolFor("metallb-system", ns, (p) => void got.push(p.name));
          const want = view
            .pools("metallb-system")
            .filter((p) => poolAdmits(p, ns, { team: "x" }, { app: "y" }))
            .map((p) => p.name);
          expect(got).to.deep.equal(want);
          expect(view.pools("metallb-system").map((p) => p.name)).to.deep.equal(
            view
              .pools()
              .filter((p) => p.namespace === "metallb-system")
              .map((p) => p.name),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
