import { expect } from "chai";
import { IntervalIndex, IndexEntry } from "../../src/addr/index.js";
import { Interval, overlaps } from "../../src/addr/interval.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("addr/index: interval index", () => {
  it("answers overlap queries exactly like a scan, through inserts and deletes", () => {
    const r = rng(42);
    const idx = new IntervalIndex<number>();
    const live = new Map<number, { iv: Interval; h: IndexEntry<number> }>();
    let id = 0;
    for (let step = 0; step < 4000; step++) {
      const op = r();
      if (op < 0.6 || live.size === 0) {
        const fam = r() < 0.8 ? 4 : 6;
        const lo = BigInt(Math.floor(r() * 5000));
        const iv: Interval = { fam, lo, hi: lo + BigInt(Math.floor(r() * (r() < 0.9 ? 5 : 400))) };
        live.set(id, { iv, h: idx.insert(iv, id) });
        id++;
      } else if (op < 0.8) {
        const keys = [...live.keys()];
        const k = keys[Math.floor(r() * keys.length)];
        idx.delete(live.get(k)!.h);
        live.delete(k);
      } else {
        const fam = r() < 0.8 ? 4 : 6;
        const lo = BigInt(Math.floor(r() * 5000));
        const q: Interval = { fam, lo, hi: lo + BigInt(Math.floor(r() * 50)) };
        const got = idx
          .overlapping(q)
          .map((e) => e.value)
          .sort((a, b) => a - b);
        const want = [...live.entries()]
          .filter(([, v]) => overlaps(v.iv, q))
          .map(([k]) => k)
          .sort((a, b) => a - b);
        expect(got).to.deep.equal(want);
      }
    }
    expect(idx.size).to.equal(live.size);
  });

  it("never mixes families and stops early when asked", () => {
    const idx = new IntervalIndex<string>();
    idx.insert({ fam: 4, lo: 10n, hi: 20n }, "v4");
    idx.insert({ fam: 6, lo: 10n, hi: 20n }, "v6");
    idx.insert({ fam: 4, lo: 15n, hi: 30n }, "v4b");
    expect(idx.overlapping({ fam: 6, lo: 0n, hi: 100n }).map((e) => e.value)).to.deep.equal(["v6"]);
    expect(idx.overlapping({ fam: 4, lo: 0n, hi: 100n }, 1)).to.have.length(1);
    expect(idx.any({ fam: 4, lo: 21n, hi: 22n })?.value).to.equal("v4b");
    expect(idx.any({ fam: 4, lo: 31n, hi: 40n })).to.equal(undefined);
  });
});
