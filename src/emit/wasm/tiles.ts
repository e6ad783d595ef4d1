/**
 * C = A B (nn) or Aᵀ B (tn) in register tiles, for dense factors: R rows of C by Q vectors of its
 * columns stay in R·Q vector registers while t runs over B's nonzero rows; each step loads Q
 * vectors of B's row t and splats R factors of A (one instruction each) for R·Q multiply-adds,
 * and C is stored once per tile. The row-adding form (rows.ts) loads and stores C's row for
 * every four rows of B instead: faster only when it skips enough zero factors.
 */
import { rowStrides, type MatmulKernel } from "./spec.js";
import { add, get, i32, lanes, loop, mul, splatLoad, t, v, type Lane } from "./wat.js";

/** tile rows and vectors: 8 accumulators, 2 vectors of B and a splat (4 × 3 spilled: 25 against 42 GFLOP/s on x W1) */
export const R = 4;
export const Q = 2;

/** the vector locals a tile uses */
export const tileVectors = [
  ...Array.from({ length: R * Q }, (_, q) => `$a${Math.floor(q / Q)}${q % Q}`),
  ...Array.from({ length: Q }, (_, j) => `$y${j}`),
  "$x",
];

/** Where B's nonzero rows are listed (pass 0 of rows.ts): the list's byte offset, and the local holding their count. */
export interface RowList {
  readonly at: number;
  readonly count: string;
}

/** bytes between A's factors of consecutive rows of C, and of consecutive rows of B */
function strides(l: Lane, k: MatmulKernel): { row: number; step: number } {
  const lda = rowStrides(k).a * l.bytes;
  return k.form === "tn" ? { row: l.bytes, step: lda } : { row: lda, step: l.bytes };
}

/** per listed row of B: $t its index, $p A's factor for row $i of C, $q B's row at column byte $j */
function listedRow(l: Lane, k: MatmulKernel, list: RowList): string {
  const s = strides(l, k);
  return `(local.set $t (i32.load ${add(i32(list.at), get("$e"))}))
      (local.set $p ${add(get("$pa"), mul(get("$t"), i32(s.step)))})
      (local.set $q ${add(get("$pb"), mul(get("$t"), i32(rowStrides(k).b * l.bytes)))})`;
}

/** from row $i's factors and column byte $j of B, `step` once per listed row of B (after listedRow has set $t, $p, $q) */
function overListedRows(l: Lane, k: MatmulKernel, list: RowList, step: string): string {
  return `(local.set $pa ${add(get("$a"), mul(get("$i"), i32(strides(l, k).row)))})
    (local.set $pb ${add(get("$b"), get("$j"))})
    ${loop("$e", i32(0), `(i32.shl ${get(list.count)} ${i32(2)})`, 4, `${listedRow(l, k, list)}\n      ${step}`)}`;
}

/**
 * C's vector (`memory` v128, added as `arith` f32x4/f64x2) or element (f32/f64 both) at `at`
 * set to `value`, or `value` added to it when the kernel accumulates
 */
function storeC(k: MatmulKernel, memory: string, arith: string, at: string, value: string): string {
  return `(${memory}.store ${at} ${k.accumulate ? `(${arith}.add (${memory}.load ${at}) ${value})` : value})`;
}

/** rows [$i, $i + r) by vectors [$j, $j + q) of C, from its factors and B's listed rows */
function tile(l: Lane, k: MatmulKernel, list: RowList, r: number, q: number): string {
  const s = strides(l, k);
  const rowC = rowStrides(k).c * l.bytes;
  const acc = (i: number, j: number) => `$a${i}${j}`;
  const zero: string[] = [];
  for (let i = 0; i < r; i++)
    for (let j = 0; j < q; j++) zero.push(`(local.set ${acc(i, j)} (v128.const i32x4 0 0 0 0))`);
  const step: string[] = [];
  for (let j = 0; j < q; j++) step.push(`(local.set $y${j} (v128.load offset=${j * 16} ${get("$q")}))`);
  for (let i = 0; i < r; i++) {
    step.push(`(local.set $x (${splatLoad(l)} offset=${i * s.row} ${get("$p")}))`);
    for (let j = 0; j < q; j++)
      step.push(`(local.set ${acc(i, j)} (${v(l)}.add ${get(acc(i, j))} (${v(l)}.mul ${get("$x")} ${get(`$y${j}`)})))`);
  }
  const store: string[] = [];
  for (let i = 0; i < r; i++)
    for (let j = 0; j < q; j++)
      store.push(storeC(k, "v128", v(l), `offset=${i * rowC + j * 16} ${get("$po")}`, get(acc(i, j))));
  return `${zero.join(" ")}
    ${overListedRows(l, k, list, step.join("\n      "))}
    (local.set $po ${add(get("$out"), add(mul(get("$i"), i32(rowC)), get("$j")))})
    ${store.join("\n    ")}`;
}

/** C's columns past its last whole vector, one element at a time, for rows [$i, $i + r) */
function scalarColumns(l: Lane, k: MatmulKernel, list: RowList, r: number, from: number): string {
  const [width, rowC] = [k.c * l.bytes, rowStrides(k).c * l.bytes];
  const step = `(local.set $f (${t(l)}.add ${get("$f")} (${t(l)}.mul (${t(l)}.load ${get("$p")}) (${t(l)}.load ${get("$q")}))))`;
  const at = add(get("$out"), add(mul(get("$i"), i32(rowC)), get("$j")));
  const one = `(local.set $f (${t(l)}.const 0))
    ${overListedRows(l, k, list, step)}
    ${storeC(k, t(l), t(l), at, get("$f"))}`;
  // r rows of this column: the tile's rows are consecutive, so step $i through them and back
  return loop(
    "$j",
    i32(from),
    i32(width),
    l.bytes,
    `${Array.from({ length: r }, () => `${one}\n    (local.set $i (i32.add ${get("$i")} ${i32(1)}))`).join("\n    ")}
    (local.set $i (i32.sub ${get("$i")} ${i32(r)}))`,
  );
}

/** every column of rows [i0, i1) in tiles of r rows (i1 - i0 a multiple of r); i1 an i32 expression */
function rowsOfTiles(l: Lane, k: MatmulKernel, list: RowList, r: number, i0: string, i1: string): string {
  const vectors = Math.floor(k.c / lanes(l));
  const whole = vectors - (vectors % Q);
  const parts = [
    whole > 0 ? loop("$j", i32(0), i32(whole * 16), Q * 16, tile(l, k, list, r, Q)) : "",
    vectors > whole ? loop("$j", i32(whole * 16), i32(vectors * 16), 16, tile(l, k, list, r, 1)) : "",
    vectors * lanes(l) < k.c ? scalarColumns(l, k, list, r, vectors * 16) : "",
  ].filter((x) => x);
  return loop("$i", i0, i1, r, parts.join("\n    "));
}

/**
 * The tiled product over C's first `rows` rows (an i32 expression; whole tiles of them, the rest
 * of those rows one at a time), leaving in $done how many rows were computed.
 */
export function tiled(l: Lane, k: MatmulKernel, list: RowList, rows: string): string {
  const mr = k.m - (k.m % R);
  // rows computed: `rows` rounded up to whole tiles, or all m when that passes the last tile
  return `(local.set $done (select ${i32(k.m)} (local.tee $iend (i32.mul (i32.div_u (i32.add ${rows} ${i32(R - 1)}) ${i32(R)}) ${i32(R)})) (i32.gt_u ${get("$iend")} ${i32(mr)})))
  (if (i32.gt_u ${get("$iend")} ${i32(mr)}) (then (local.set $iend ${i32(mr)})))
  ${rowsOfTiles(l, k, list, R, i32(0), get("$iend"))}
  ${mr < k.m ? `(if (i32.eq ${get("$done")} ${i32(k.m)}) (then ${rowsOfTiles(l, k, list, 1, i32(mr), i32(k.m))}))` : ""}`;
}
