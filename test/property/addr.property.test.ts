import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { IntervalIndex } from "../../src/addr/index.js";
import {
  Interval,
  intersection,
  overlaps,
  parseAddressSpec,
  parseGoCIDR,
  prefixInterval,
  summarize,
} from "../../src/addr/interval.js";
import { BITS, formatIP, MAX, parseIP } from "../../src/addr/ip.js";
import { parseKubeVipKey } from "../../src/addr/kubevip.js";
import { metallbCIDRs, parseMetalLBEntry } from "../../src/addr/metallb.js";
import { FIXTURES } from "../helpers/paths.js";

const RUNS = { numRuns: 500 };
const v4 = fc.bigInt({ min: 0n, max: MAX[4] });
const v6 = fc.bigInt({ min: 0n, max: MAX[6] });
const ipText = fc.oneof(
  v4.map((v) => formatIP(4, v)),
  v6.map((v) => formatIP(6, v)),
);
/** strings that look like addresses, mangled */
const addressish = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF.:/- \t%xX") }),
  fc
    .tuple(
      ipText,
      fc.constantFrom("", "/", "-", " - ", "/0", "/33", "/129", "/-1", "%eth0", " "),
      fc.oneof(ipText, fc.nat(200).map(String)),
    )
    .map(([a, s, b]) => a + s + b),
  fc.string({ unit: "grapheme" }),
);

describe("property: address parsing never throws and round-trips", () => {
  it("parseIP, parseGoCIDR, MetalLB's and kube-vip's grammars and the policy notation never throw, on any string", () => {
    fc.assert(
      fc.property(addressish, (s) => {
        parseIP(s);
        parseGoCIDR(s);
        const e = parseMetalLBEntry(s);
        expect(e.error === undefined || typeof e.error === "string").to.equal(true);
        metallbCIDRs(e);
        parseKubeVipKey("cidr-x", s);
        parseKubeVipKey("range-x", s);
        parseAddressSpec(s);
      }),
      { numRuns: 3000 },
    );
  });

  it("formatIP and parseIP round-trip every IPv4 and IPv6 value", () => {
    fc.assert(
      fc.property(v4, (v) => {
        expect(parseIP(formatIP(4, v))).to.deep.equal({ fam: 4, v });
      }),
      RUNS,
    );
    fc.assert(
      fc.property(v6, (v) => {
        const ip = parseIP(formatIP(6, v))!;
        // ::ffff:a.b.c.d is IPv4 as Go sees it
        if (v >> 32n === 0xffffn) expect(ip).to.deep.equal({ fam: 4, v: v & 0xffffffffn });
        else expect(ip).to.deep.equal({ fam: 6, v });
      }),
      RUNS,
    );
  });

  it("a CIDR parses to the masked block that contains its address, in both grammars", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          v4.map((v) => [4, v] as const),
          v6.filter((v) => v >> 32n !== 0xffffn).map((v) => [6, v] as const),
        ),
        fc.nat(128),
        ([fam, v], p0) => {
          const p = p0 % (BITS[fam] + 1);
          const text = `${formatIP(fam, v)}/${p}`;
          const c = parseGoCIDR(text)!;
          expect(c.iv).to.deep.equal(prefixInterval(fam, v, p));
          expect(c.iv.lo <= v && v <= c.iv.hi).to.equal(true);
          expect(parseMetalLBEntry(text).intervals).to.deep.equal([c.iv]);
        },
      ),
      RUNS,
    );
  });

  it("overlap is symmetric and the intersection lies in both", () => {
    const iv = fc
      .tuple(
        fc.constantFrom(4 as const, 6 as const),
        fc.bigInt({ min: 0n, max: 4000n }),
        fc.bigInt({ min: 0n, max: 200n }),
      )
      .map(([fam, lo, len]) => ({ fam, lo, hi: lo + len }) as Interval);
    fc.assert(
      fc.property(iv, iv, (a, b) => {
        expect(overlaps(a, b)).to.equal(overlaps(b, a));
        const x = intersection(a, b);
        expect(x !== null).to.equal(overlaps(a, b));
        if (x) expect(x.lo >= a.lo && x.lo >= b.lo && x.hi <= a.hi && x.hi <= b.hi).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("a range summarizes into contiguous CIDRs that cover it exactly", () => {
    fc.assert(
      fc.property(v4, fc.bigInt({ min: 0n, max: 100_000n }), (lo, len) => {
        const hi = lo + len > MAX[4] ? MAX[4] : lo + len;
        let next = lo;
        for (const c of summarize({ fam: 4, lo, hi })) {
          const p = parseGoCIDR(c)!;
          expect(p.iv.lo).to.equal(next);
          next = p.iv.hi + 1n;
        }
        expect(next).to.equal(hi + 1n);
      }),
      RUNS,
    );
  });

  it("agrees with MetalLB's vectors under whitespace: trimmed around a range's dash, refused around a CIDR", () => {
    const vectors = JSON.parse(readFileSync(join(FIXTURES, "metallb/parse-and-overlap-vectors.json"), "utf8"))
      .vectors as { input: string; cidrs: string[]; parseCIDRError: string }[];
    const ranges = vectors.filter((v) => !v.parseCIDRError && v.input.includes("-"));
    const cidrs = vectors.filter((v) => !v.parseCIDRError && !v.input.includes("-"));
    const ws = fc.string({ unit: fc.constantFrom(" ", "\t", "\u0085"), maxLength: 3 });
    fc.assert(
      fc.property(fc.constantFrom(...ranges), ws, ws, ws, ws, (v, a, b, c, d) => {
        const [l, r] = [v.input.slice(0, v.input.indexOf("-")).trim(), v.input.slice(v.input.indexOf("-") + 1).trim()];
        expect(metallbCIDRs(parseMetalLBEntry(`${a}${l}${b}-${c}${r}${d}`))).to.deep.equal(v.cidrs);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...cidrs),
        fc.string({ unit: fc.constantFrom(" ", "\t"), minLength: 1, maxLength: 2 }),
        fc.boolean(),
        (v, w, before) => {
          expect(parseMetalLBEntry(before ? w + v.input : v.input + w).error).to.match(/^invalid CIDR/);
        },
      ),
      RUNS,
    );
  });

  it("the interval index answers like a scan", () => {
    const iv = fc
      .tuple(
        fc.constantFrom(4 as const, 6 as const),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 50n }),
      )
      .map(([fam, lo, len]) => ({ fam, lo, hi: lo + len }) as Interval);
    fc.assert(
      fc.property(fc.array(iv, { maxLength: 60 }), fc.array(fc.nat(59), { maxLength: 20 }), iv, (ivs, dels, q) => {
        const idx = new IntervalIndex<number>();
        const hs = ivs.map((v, i) => idx.insert(v, i));
        const gone = new Set(dels.filter((d) => d < ivs.length));
        for (const d of gone) idx.delete(hs[d]);
        const got = idx
          .overlapping(q)
          .map((e) => e.value)
          .sort((a, b) => a - b);
        const want = ivs
          .map((v, i) => [v, i] as const)
          .filter(([v, i]) => !gone.has(i) && overlaps(v, q))
          .map(([, i]) => i);
        expect(got).to.deep.equal(want);
      }),
      RUNS,
    );
  });
});
