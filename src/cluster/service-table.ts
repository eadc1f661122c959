/**
 * The view's LoadBalancer Services, stored so that the garbage collector has
 * almost nothing to do with them (BENCHMARKS.md "Tail latency"): a cluster
 * holds 100,000 of them, and as objects (a record, its address objects and
 * their bigints, a key string, an index node each) they were ~17 heap objects
 * a Service, which every major collection marked and moved again, stalling
 * reviews for 50–70 ms at a time. Here a Service is a row of typed arrays:
 * its namespace and class interned once, its name in a shared character pool,
 * its addresses as 32-bit words, found by an open-addressing hash table
 * (namespace, name) and, per class, a sorted array of address rows. The only
 * per-Service heap objects are the rare exceptions (a sharing key, an address
 * written in a non-canonical form). Reads build short-lived ServiceRec and
 * ServiceAddr objects, which die young.
 */
import type { Interval } from "../addr/interval.js";
import { Family, formatIP } from "../addr/ip.js";
import type { ServiceAddr, ServiceRec } from "./records.js";

const M32 = 0xffffffffn;

/** Interned strings with reference counts: each distinct value is held once. */
class Interned<T extends string | null> {
  readonly values: T[] = [];
  private readonly ids = new Map<T, number>();
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  ref(v: T): number {
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.free.pop() ?? this.values.length;
      this.values[id] = v;
      this.refs[id] = 0;
      this.ids.set(v, id);
    }
    this.refs[id]++;
    return id;
  }

  id(v: T): number | undefined {
    return this.ids.get(v);
  }

  unref(id: number): void {
    if (--this.refs[id] > 0) return;
    this.ids.delete(this.values[id]);
    this.values[id] = null as T;
    this.free.push(id);
  }
}

/** `a` with room for at least n elements (doubling), its contents kept. */
function grow<A extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: A, n: number): A {
  if (n <= a.length) return a;
  return resize(a, Math.max(n, a.length * 2, 16));
}

function resize<A extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: A, n: number): A {
  const b = new (a.constructor as new (n: number) => A)(n);
  b.set(a.length <= n ? a : a.subarray(0, n));
  return b;
}

/** The 32-bit words of an address value, most significant first (IPv4: the last word). */
function words(fam: Family, v: bigint): [number, number, number, number] {
  if (fam === 4) return [0, 0, 0, Number(v & M32)];
  return [Number((v >> 96n) & M32), Number((v >> 64n) & M32), Number((v >> 32n) & M32), Number(v & M32)];
}

interface Bounds {
  fam: Family;
  l0: number;
  l1: number;
  l2: number;
  l3: number;
  h0: number;
  h1: number;
  h2: number;
  h3: number;
}

function bounds(iv: Interval): Bounds {
  const [l0, l1, l2, l3] = words(iv.fam, iv.lo);
  const [h0, h1, h2, h3] = words(iv.fam, iv.hi);
  return { fam: iv.fam, l0, l1, l2, l3, h0, h1, h2, h3 };
}

/** One class's addresses in address order: a sorted array of rows plus the rows added since it was last merged. */
interface ClassIndex {
  main: Int32Array;
  mainLen: number;
  /** rows added since the last merge, unsorted */
  pending: number[];
  /** rows removed that `main` or `pending` still hold; they return to the free list at the next merge */
  dead: number[];
}

/** Merge when this many rows were added since the last merge (a query scans them linearly until then). */
const PENDING_LIMIT = 32;

export class ServiceTable {
  private readonly namespaces = new Interned<string>();
  private readonly classes = new Interned<string | null>();
  // ---- Service rows
  private count = 0;
  private svcNs = new Int32Array(0); // -1: a free row
  private svcCls = new Int32Array(0);
  private svcNameOff = new Uint32Array(0);
  private svcNameLen = new Uint32Array(0);
  private svcHash = new Uint32Array(0);
  private svcAddr = new Int32Array(0); // first address row, -1: none
  private svcRows = 0;
  private readonly svcFree: number[] = [];
  private readonly shares = new Map<number, string>();
  // ---- names: one character pool
  private chars = new Uint16Array(0);
  private charsLen = 0;
  private charsDead = 0;
  // ---- (namespace, name) → row + 1, linear probing, 0 = empty
  private slots = new Int32Array(64);
  // ---- address rows
  private addrFam = new Uint8Array(0); // 0: free or dead
  private addrW = new Uint32Array(0); // 4 words a row
  private addrSvc = new Int32Array(0);
  private addrNext = new Int32Array(0);
  private addrSeq = new Float64Array(0);
  private addrRows = 0;
  private readonly addrFree: number[] = [];
  private readonly texts = new Map<number, string>();
  private seq = 0;
  /** per class id, in the order classes first appeared (the order of forEachAddrAnyClass) */
  private readonly indexes: ClassIndex[] = [];
  private readonly indexOfClass = new Map<number, ClassIndex>();

  get size(): number {
    return this.count;
  }

  // ---- hashing -----------------------------------------------------------

  private static hash(ns: number, name: string): number {
    let h = Math.imul(ns ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    return h >>> 0;
  }

  private nameIs(row: number, name: string): boolean {
    if (this.svcNameLen[row] !== name.length) return false;
    const off = this.svcNameOff[row];
    const c = this.chars;
    for (let i = 0; i < name.length; i++) if (c[off + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  private find(namespace: string, name: string): number {
    const ns = this.namespaces.id(namespace);
    if (ns === undefined) return -1;
    const h = ServiceTable.hash(ns, name);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.slots[i];
      if (v === 0) return -1;
      const row = v - 1;
      if (this.svcHash[row] === h && this.svcNs[row] === ns && this.nameIs(row, name)) return row;
    }
  }

  private insertSlot(row: number): void {
    const mask = this.slots.length - 1;
    let i = this.svcHash[row] & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = row + 1;
  }

  private deleteSlot(row: number): void {
    const mask = this.slots.length - 1;
    let i = this.svcHash[row] & mask;
    while (this.slots[i] !== row + 1) i = (i + 1) & mask;
    // backward-shift deletion: no tombstones
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.slots[j];
      if (v === 0) break;
      const home = this.svcHash[v - 1] & mask;
      // move v into the hole when its home is not in (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.slots[i] = v;
        i = j;
      }
    }
    this.slots[i] = 0;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let row = 0; row < this.svcRows; row++) if (this.svcNs[row] >= 0) this.insertSlot(row);
  }

  // ---- names -------------------------------------------------------------

  private storeName(name: string): number {
    if (this.charsLen + name.length > this.chars.length) {
      if (this.charsDead > this.charsLen / 2) this.compactNames();
      this.chars = grow(this.chars, this.charsLen + name.length);
    }
    const off = this.charsLen;
    for (let i = 0; i < name.length; i++) this.chars[off + i] = name.charCodeAt(i);
    this.charsLen += name.length;
    return off;
  }

  private compactNames(): void {
    const next = new Uint16Array(Math.max(16, (this.charsLen - this.charsDead) * 2));
    let len = 0;
    for (let row = 0; row < this.svcRows; row++) {
      if (this.svcNs[row] < 0) continue;
      const off = this.svcNameOff[row];
      const n = this.svcNameLen[row];
      next.set(this.chars.subarray(off, off + n), len);
      this.svcNameOff[row] = len;
      len += n;
    }
    this.chars = next;
    this.charsLen = len;
    this.charsDead = 0;
  }

  private nameOf(row: number): string {
    const off = this.svcNameOff[row];
    const n = this.svcNameLen[row];
    let s = "";
    for (let i = 0; i < n; i += 4096)
      s += String.fromCharCode.apply(null, this.chars.subarray(off + i, off + Math.min(n, i + 4096)) as never);
    return s;
  }

  // ---- writes ------------------------------------------------------------

  /** Add a Service, or replace the one of the same namespace and name. */
  put(rec: ServiceRec): void {
    this.remove(rec.namespace, rec.name);
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const nameOff = this.storeName(rec.name);
    const row = this.svcFree.pop() ?? this.svcRows++;
    if (row >= this.svcNs.length) {
      const from = this.svcNs.length;
      const cap = Math.max(16, from * 2);
      this.svcNs = resize(this.svcNs, cap);
      this.svcNs.fill(-1, from);
      this.svcCls = resize(this.svcCls, cap);
      this.svcNameOff = resize(this.svcNameOff, cap);
      this.svcNameLen = resize(this.svcNameLen, cap);
      this.svcHash = resize(this.svcHash, cap);
      this.svcAddr = resize(this.svcAddr, cap);
    }
    const ns = this.namespaces.ref(rec.namespace);
    const cls = this.classes.ref(rec.cls);
    this.svcNs[row] = ns;
    this.svcCls[row] = cls;
    this.svcNameOff[row] = nameOff;
    this.svcNameLen[row] = rec.name.length;
    this.svcHash[row] = ServiceTable.hash(ns, rec.name);
    this.svcAddr[row] = -1;
    if (rec.share !== undefined) this.shares.set(row, rec.share);
    this.count++;
    this.insertSlot(row);
    let index = this.indexOfClass.get(cls);
    if (!index) {
      index = { main: new Int32Array(0), mainLen: 0, pending: [], dead: [] };
      this.indexes.push(index);
      this.indexOfClass.set(cls, index);
    }
    // addresses, linked in the record's order
    let last = -1;
    for (const a of rec.addrs) {
      const r = this.newAddr();
      this.addrFam[r] = a.fam;
      this.addrW.set(words(a.fam, a.lo), r * 4);
      this.addrSvc[r] = row;
      this.addrNext[r] = -1;
      this.addrSeq[r] = this.seq++;
      if (a.text !== formatIP(a.fam, a.lo)) this.texts.set(r, a.text);
      if (last < 0) this.svcAddr[row] = r;
      else this.addrNext[last] = r;
      last = r;
      index.pending.push(r);
    }
  }

  private newAddr(): number {
    const r = this.addrFree.pop() ?? this.addrRows++;
    if (r >= this.addrFam.length) {
      const cap = Math.max(16, this.addrFam.length * 2);
      this.addrFam = resize(this.addrFam, cap);
      this.addrW = resize(this.addrW, cap * 4);
      this.addrSvc = resize(this.addrSvc, cap);
      this.addrNext = resize(this.addrNext, cap);
      this.addrSeq = resize(this.addrSeq, cap);
    }
    return r;
  }

  remove(namespace: string, name: string): boolean {
    const row = this.find(namespace, name);
    if (row < 0) return false;
    this.deleteSlot(row);
    const index = this.indexOfClass.get(this.svcCls[row])!;
    for (let r = this.svcAddr[row]; r >= 0; r = this.addrNext[r]) {
      this.addrFam[r] = 0;
      this.texts.delete(r);
      index.dead.push(r);
    }
    this.namespaces.unref(this.svcNs[row]);
    this.classes.unref(this.svcCls[row]);
    this.shares.delete(row);
    this.charsDead += this.svcNameLen[row];
    this.svcNs[row] = -1;
    this.svcAddr[row] = -1;
    this.svcFree.push(row);
    this.count--;
    return true;
  }

  // ---- reads -------------------------------------------------------------

  get(namespace: string, name: string): ServiceRec | undefined {
    const row = this.find(namespace, name);
    return row < 0 ? undefined : this.record(row);
  }

  private record(row: number): ServiceRec {
    const rec: ServiceRec = {
      kind: "Service",
      namespace: this.namespaces.values[this.svcNs[row]],
      name: this.nameOf(row),
      cls: this.classes.values[this.svcCls[row]],
      addrs: [],
    };
    for (let r = this.svcAddr[row]; r >= 0; r = this.addrNext[r]) rec.addrs.push(this.addr(r, rec));
    const share = this.shares.get(row);
    if (share !== undefined) rec.share = share;
    return rec;
  }

  private addr(r: number, svc: ServiceRec): ServiceAddr {
    const fam = this.addrFam[r] as Family;
    const w = this.addrW;
    const v =
      fam === 4
        ? BigInt(w[r * 4 + 3])
        : (BigInt(w[r * 4]) << 96n) |
          (BigInt(w[r * 4 + 1]) << 64n) |
          (BigInt(w[r * 4 + 2]) << 32n) |
          BigInt(w[r * 4 + 3]);
    return { fam, lo: v, hi: v, text: this.texts.get(r) ?? formatIP(fam, v), svc };
  }

  /** address rows compare by family, value, then insertion order */
  private cmpRows(a: number, b: number): number {
    const fa = this.addrFam[a];
    const fb = this.addrFam[b];
    if (fa !== fb) return fa - fb;
    const w = this.addrW;
    for (let i = 0; i < 4; i++) {
      const d = w[a * 4 + i] - w[b * 4 + i];
      if (d !== 0) return d;
    }
    return this.addrSeq[a] - this.addrSeq[b];
  }

  /** row against a bound (family, words): <0, 0, >0 */
  private cmpBound(r: number, fam: number, b0: number, b1: number, b2: number, b3: number): number {
    const f = this.addrFam[r];
    if (f !== fam) return f - fam;
    const w = this.addrW;
    const o = r * 4;
    return w[o] - b0 || w[o + 1] - b1 || w[o + 2] - b2 || w[o + 3] - b3;
  }

  /** Fold the pending rows into the sorted array and drop the dead ones. */
  private merge(index: ClassIndex): void {
    const add = index.pending.filter((r) => this.addrFam[r] !== 0).sort((a, b) => this.cmpRows(a, b));
    const out = new Int32Array(index.mainLen + add.length);
    let n = 0;
    let j = 0;
    for (let i = 0; i < index.mainLen; i++) {
      const r = index.main[i];
      if (this.addrFam[r] === 0) continue;
      while (j < add.length && this.cmpRows(add[j], r) < 0) out[n++] = add[j++];
      out[n++] = r;
    }
    while (j < add.length) out[n++] = add[j++];
    index.main = n === out.length ? out : out.slice(0, n);
    index.mainLen = n;
    index.pending = [];
    for (const r of index.dead) this.addrFree.push(r);
    index.dead = [];
  }

  private ready(index: ClassIndex): void {
    if (index.pending.length > PENDING_LIMIT || index.dead.length > 1024 + index.mainLen / 4) this.merge(index);
  }

  /** Merge every index now (after a bulk load, so that the first reviews do not pay for it). */
  compact(): void {
    for (const index of this.indexes) this.merge(index);
    if (this.charsDead > 0) this.compactNames();
  }

  /** Calls fn for each address of the class's Services overlapping iv, in address order; fn returns true to stop. */
  forEachAddr(cls: string | null, iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    const id = this.classes.id(cls);
    const index = id === undefined ? undefined : this.indexOfClass.get(id);
    if (index && iv.lo <= iv.hi) this.scan(index, bounds(iv), fn);
  }

  /** The same over every class (classes in the order they first appeared). Returns whether fn stopped. */
  forEachAddrAnyClass(iv: Interval, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): void {
    if (iv.lo > iv.hi) return;
    const b = bounds(iv);
    for (const index of this.indexes) if (this.scan(index, b, fn)) return;
  }

  private scan(index: ClassIndex, bd: Bounds, fn: (svc: ServiceRec, addr: ServiceAddr) => boolean | void): boolean {
    this.ready(index);
    const { fam, l0, l1, l2, l3, h0, h1, h2, h3 } = bd;
    const main = index.main;
    // first row >= lo
    let a = 0;
    let b = index.mainLen;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (this.cmpBound(main[m], fam, l0, l1, l2, l3) < 0) a = m + 1;
      else b = m;
    }
    // pending rows in range, in order
    let extra: number[] | undefined;
    for (const r of index.pending)
      if (
        this.addrFam[r] !== 0 &&
        this.cmpBound(r, fam, l0, l1, l2, l3) >= 0 &&
        this.cmpBound(r, fam, h0, h1, h2, h3) <= 0
      )
        (extra ??= []).push(r);
    if (extra && extra.length > 1) extra.sort((x, y) => this.cmpRows(x, y));
    let j = 0;
    const visit = (r: number): boolean => {
      const row = this.addrSvc[r];
      const svc = this.record(row);
      // the record's address objects are new; hand fn the one for this row
      let k = 0;
      for (let x = this.svcAddr[row]; x >= 0 && x !== r; x = this.addrNext[x]) k++;
      return fn(svc, svc.addrs[k]) === true;
    };
    for (let i = a; i < index.mainLen; i++) {
      const r = main[i];
      if (this.cmpBound(r, fam, h0, h1, h2, h3) > 0) break;
      if (this.addrFam[r] === 0) continue;
      while (extra && j < extra.length && this.cmpRows(extra[j], r) < 0) if (visit(extra[j++])) return true;
      if (visit(r)) return true;
    }
    while (extra && j < extra.length) if (visit(extra[j++])) return true;
    return false;
  }
}
