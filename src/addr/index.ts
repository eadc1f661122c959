/**
 * A sorted index of address intervals answering "what overlaps [lo, hi]?" in
 * O(log n + k): a treap per family ordered by (lo, seq), each node carrying
 * the largest `hi` of its subtree. Inserts and deletes are O(log n), so the
 * live cluster source can keep it current one event at a time.
 */
import { Family } from "./ip.js";
import { Interval } from "./interval.js";

interface Node<T> {
  lo: bigint;
  hi: bigint;
  max: bigint;
  seq: number;
  pri: number;
  left: Node<T> | null;
  right: Node<T> | null;
  value: T;
  fam: Family;
}

export interface IndexEntry<T> {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly fam: Family;
  readonly value: T;
}

function less<T>(a: Node<T>, lo: bigint, seq: number): boolean {
  return a.lo < lo || (a.lo === lo && a.seq < seq);
}

function fix<T>(n: Node<T>): void {
  let m = n.hi;
  if (n.left && n.left.max > m) m = n.left.max;
  if (n.right && n.right.max > m) m = n.right.max;
  n.max = m;
}

function rotRight<T>(n: Node<T>): Node<T> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  fix(n);
  fix(l);
  return l;
}

function rotLeft<T>(n: Node<T>): Node<T> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  fix(n);
  fix(r);
  return r;
}

function insert<T>(root: Node<T> | null, n: Node<T>): Node<T> {
  if (!root) return n;
  if (less(n, root.lo, root.seq)) {
    root.left = insert(root.left, n);
    if (root.left.pri > root.pri) return rotRight(root);
  } else {
    root.right = insert(root.right, n);
    if (root.right.pri > root.pri) return rotLeft(root);
  }
  fix(root);
  return root;
}

function merge<T>(a: Node<T> | null, b: Node<T> | null): Node<T> | null {
  if (!a) return b;
  if (!b) return a;
  if (a.pri > b.pri) {
    a.right = merge(a.right, b);
    fix(a);
    return a;
  }
  b.left = merge(a, b.left);
  fix(b);
  return b;
}

function remove<T>(root: Node<T> | null, n: Node<T>): Node<T> | null {
  if (!root) return null;
  if (root === n) return merge(root.left, root.right);
  if (less(n, root.lo, root.seq)) root.left = remove(root.left, n);
  else root.right = remove(root.right, n);
  fix(root);
  return root;
}

export class IntervalIndex<T> {
  private roots: Record<Family, Node<T> | null> = { 4: null, 6: null };
  private seq = 0;
  private count = 0;
  // xorshift: deterministic priorities keep benchmarks repeatable
  private rnd = 0x9e3779b9;

  get size(): number {
    return this.count;
  }

  insert(iv: Interval, value: T): IndexEntry<T> {
    this.rnd ^= this.rnd << 13;
    this.rnd ^= this.rnd >>> 17;
    this.rnd ^= this.rnd << 5;
    const n: Node<T> = {
      lo: iv.lo,
      hi: iv.hi,
      max: iv.hi,
      seq: this.seq++,
      // 31 bits: a small integer, stored in the node itself (a 32-bit value would make V8 box every node's priority)
      pri: this.rnd >>> 1,
      left: null,
      right: null,
      value,
      fam: iv.fam,
    };
    this.roots[iv.fam] = insert(this.roots[iv.fam], n);
    this.count++;
    return n;
  }

  delete(entry: IndexEntry<T>): void {
    const n = entry as Node<T>;
    const before = this.roots[n.fam];
    this.roots[n.fam] = remove(before, n);
    this.count--;
  }

  /**
   * Calls `fn` for each stored interval overlapping `iv`, in address order;
   * `fn` returns true to stop early.
   */
  forEachOverlap(iv: Interval, fn: (e: IndexEntry<T>) => boolean | void): void {
    const root = this.roots[iv.fam];
    if (!root) return;
    const lo = iv.lo;
    const hi = iv.hi;
    // iterative in-order walk with pruning
    const stack: Node<T>[] = [];
    let n: Node<T> | null = root;
    while (n || stack.length) {
      while (n && n.max >= lo) {
        stack.push(n);
        n = n.left;
      }
      if (!stack.length) return;
      const top: Node<T> = stack.pop()!;
      if (top.lo > hi) return; // everything after starts later still
      if (top.hi >= lo && fn(top)) return;
      n = top.right;
    }
  }

  overlapping(iv: Interval, limit = Infinity): IndexEntry<T>[] {
    const out: IndexEntry<T>[] = [];
    if (limit <= 0) return out;
    this.forEachOverlap(iv, (e) => {
      out.push(e);
      return out.length >= limit;
    });
    return out;
  }

  any(iv: Interval, pred?: (v: T) => boolean): IndexEntry<T> | undefined {
    let hit: IndexEntry<T> | undefined;
    this.forEachOverlap(iv, (e) => {
      if (!pred || pred(e.value)) {
        hit = e;
        return true;
      }
      return false;
    });
    return hit;
  }
}
