/**
 * WebAssembly SIMD matrix products, one function per product in the program, specialized to
 * its shapes (loop bounds and row strides are constants). Written as WAT text, assembled by wabt.
 * Format of each form: C[m, c] from row-major operands at byte offsets (a, b, out):
 *   nt  C = A Bᵀ   A [m, n], B [c, n]: dot products of rows, `lanes` elements per step
 *   tn  C = Aᵀ B   A [n, m], B [n, c]: register tiles of C over B's rows (tiles.ts) when A is
 *                  dense, rows of B scaled and added into rows of C (rows.ts) when it is sparse
 *   nn  C = A B    A [m, n], B [n, c]: the same, with A read along its rows
 * nt and nn (unless accumulating) take a 4th argument, `rows`: only A's first rows are computed
 * and the rest of C copies the last of them (a padded chunk's padding repeats its last sample).
 */
import { contiguousA, rowStrides, type MatmulKernel } from "./spec.js";
import { G, listBytes, listLayout, listNonzeroRowsOfB, rowAdding, rowLocals } from "./rows.js";
import { tiled, tileVectors, R as TR, Q as TQ } from "./tiles.js";
import { add, get, horizontal, i32, lanes, loop, mul, t, v, type Lane } from "./wat.js";

export type { Lane } from "./wat.js";
export type { Form, MatmulKernel, MatmulShape } from "./spec.js";

/** nt register tile: R rows of A against Q rows of B, R·Q vector accumulators (x64 has 16 registers) */
const R = 2;
const Q = 4;

/**
 * An r × q tile of C = A Bᵀ at rows $pa (of A) and $pb (of B): every vector loaded from a row of A
 * meets q rows of B, and every vector from B meets r rows of A. Bytes into the rows step with $t;
 * the rows below are constant offsets (`offset=` immediates), so a step costs one add per load.
 */
function ntTile(l: Lane, k: MatmulKernel, r: number, q: number): string {
  const ld = rowStrides(k);
  const [rowA, rowB, row] = [ld.a * l.bytes, ld.b * l.bytes, k.n * l.bytes];
  const main = (k.n - (k.n % lanes(l))) * l.bytes;
  const acc = (i: number, j: number) => `$c${i}${j}`;
  const s: string[] = [];
  for (let i = 0; i < r; i++) for (let j = 0; j < q; j++) s.push(`(local.set ${acc(i, j)} (v128.const i32x4 0 0 0 0))`);
  const step: string[] = [];
  for (let i = 0; i < r; i++)
    step.push(`(local.set $x${i} (v128.load offset=${i * rowA} (i32.add ${get("$pa")} ${get("$t")})))`);
  for (let j = 0; j < q; j++) {
    step.push(`(local.set $y (v128.load offset=${j * rowB} (i32.add ${get("$pb")} ${get("$t")})))`);
    for (let i = 0; i < r; i++)
      step.push(`(local.set ${acc(i, j)} (${v(l)}.add ${get(acc(i, j))} (${v(l)}.mul ${get(`$x${i}`)} ${get("$y")})))`);
  }
  s.push(loop("$t", i32(0), i32(main), 16, step.join("\n      ")));
  // the lanes' sums, then the columns past the last whole vector, one at a time
  for (let i = 0; i < r; i++) for (let j = 0; j < q; j++) s.push(`(local.set $s${i}${j} ${horizontal(l, acc(i, j))})`);
  const tail: string[] = [];
  for (let i = 0; i < r; i++)
    for (let j = 0; j < q; j++)
      tail.push(
        `(local.set $s${i}${j} (${t(l)}.add ${get(`$s${i}${j}`)} (${t(l)}.mul (${t(l)}.load offset=${i * rowA} (i32.add ${get("$pa")} ${get("$t")})) (${t(l)}.load offset=${j * rowB} (i32.add ${get("$pb")} ${get("$t")})))))`,
      );
  if (main < row) s.push(loop("$t", i32(main), i32(row), l.bytes, tail.join("\n      ")));
  // C[i + di, j + dj] at $po + (di·ldc + dj)·bytes
  for (let i = 0; i < r; i++)
    for (let j = 0; j < q; j++)
      s.push(`(${t(l)}.store offset=${(i * ld.c + j) * l.bytes} ${get("$po")} ${get(`$s${i}${j}`)})`);
  return s.join("\n    ");
}

/** rows [i0, i1) of A against rows [j0, j1) of B in r × q tiles (the ranges are multiples of them); i1 an i32 expression */
function ntBlock(
  l: Lane,
  k: MatmulKernel,
  i0: number,
  i1: string,
  j0: number,
  j1: number,
  r: number,
  q: number,
): string {
  if (j0 >= j1) return "";
  const ld = rowStrides(k);
  // B's rows outermost: q rows of B stay in cache while every row of A passes over them
  return loop(
    "$j",
    i32(j0),
    i32(j1),
    q,
    `(local.set $pb ${add(get("$b"), `(i32.mul ${get("$j")} ${i32(ld.b * l.bytes)})`)})
    ${loop(
      "$i",
      i32(i0),
      i1,
      r,
      `(local.set $pa ${add(get("$a"), `(i32.mul ${get("$i")} ${i32(ld.a * l.bytes)})`)})
      (local.set $po ${add(get("$out"), `(i32.mul (i32.add (i32.mul ${get("$i")} ${i32(ld.c)}) ${get("$j")}) ${i32(l.bytes)})`)})
      ${ntTile(l, k, r, q)}`,
    )}`,
  );
}

/** Kernels whose rows of C can be samples (A B and A Bᵀ; not a gradient summed over them) take a row count. */
export const takesRows = (k: MatmulKernel): boolean => k.form === "nt" || (k.form === "nn" && !k.accumulate);

/** $rows outside 1..m (or not passed) means every row */
const clampRows = (k: MatmulKernel) =>
  `(if (i32.ge_u (i32.sub ${get("$rows")} ${i32(1)}) ${i32(k.m)}) (then (local.set $rows ${i32(k.m)})))`;

/**
 * The first $rows rows of C = A Bᵀ (whole tiles of them), and the rest as copies of the last row
 * computed: a chunk's padding samples repeat its last real sample, so their rows are equal.
 */
function nt(l: Lane, k: MatmulKernel): string {
  const mr = k.m - (k.m % R);
  const cq = k.c - (k.c % Q);
  const rowC = k.c * l.bytes;
  const strideC = rowStrides(k).c * l.bytes;
  // rows computed: $rows rounded up to whole tiles, at most m
  const done = `(select ${i32(k.m)} (local.tee $iend (i32.mul (i32.div_u (i32.add ${get("$rows")} ${i32(R - 1)}) ${i32(R)}) ${i32(R)})) (i32.gt_u ${get("$iend")} ${i32(mr)}))`;
  return `${clampRows(k)}
  (local.set $done ${done})
  (if (i32.gt_u ${get("$iend")} ${i32(mr)}) (then (local.set $iend ${i32(mr)})))
  ${ntBlock(l, k, 0, get("$iend"), 0, cq, R, Q)}
  ${ntBlock(l, k, 0, get("$iend"), cq, k.c, 1, 1)}
  ${mr < k.m ? `(if (i32.eq ${get("$done")} ${i32(k.m)}) (then ${ntBlock(l, k, mr, i32(k.m), 0, k.c, 1, 1)}))` : ""}
  ${loop("$i", get("$done"), i32(k.m), 1, `(memory.copy ${add(get("$out"), `(i32.mul ${get("$i")} ${i32(strideC)})`)} ${add(get("$out"), `(i32.mul (i32.sub ${get("$done")} ${i32(1)}) ${i32(strideC)})`)} ${i32(rowC)})`)}`;
}

/**
 * Below this share of nonzero factors in A, tn and nn products add B's rows (rows.ts), skipping
 * the zeros; at or above it, register tiles (tiles.ts) are faster though they skip none. Measured
 * on the MLP's 16-sample products (x W1, Xᵀ G, Gᵀ X), f32.
 */
const DENSE = { num: 7, den: 10 };

/** $nz: how many of the `count` elements (an i32 expression) from byte $a on are nonzero, whole vectors at a time */
function countNonzero(l: Lane, count: string): string {
  const L = lanes(l);
  const wide = l.bytes === 8 ? "i64x2" : "i32x4";
  const lanesSum = Array.from({ length: L }, (_, k) =>
    l.bytes === 8 ? `(i32.wrap_i64 (i64x2.extract_lane ${k} ${get("$x")}))` : `(i32x4.extract_lane ${k} ${get("$x")})`,
  ).reduce((a, b) => `(i32.add ${a} ${b})`);
  // a lane of `ne` is all ones (−1) where the element is nonzero: subtracting it counts one
  return `(local.set $x (v128.const i32x4 0 0 0 0))
  (local.set $p ${get("$a")})
  (local.set $q ${add(get("$a"), mul(`(i32.and ${count} ${i32(-L)})`, i32(l.bytes)))})
  (block $count_done (loop $count_next
    (br_if $count_done (i32.ge_u ${get("$p")} ${get("$q")}))
    (local.set $x (${wide}.sub ${get("$x")} (${v(l)}.ne (v128.load ${get("$p")}) (v128.const i32x4 0 0 0 0))))
    (local.set $p (i32.add ${get("$p")} ${i32(16)}))
    (br $count_next)))
  (local.set $nz ${lanesSum})
  (local.set $q ${add(get("$a"), mul(count, i32(l.bytes)))})
  (block $tail_done (loop $tail_next
    (br_if $tail_done (i32.ge_u ${get("$p")} ${get("$q")}))
    (if (${t(l)}.ne (${t(l)}.load ${get("$p")}) (${t(l)}.const 0)) (then (local.set $nz (i32.add ${get("$nz")} ${i32(1)}))))
    (local.set $p (i32.add ${get("$p")} ${i32(l.bytes)}))
    (br $tail_next)))`;
}

/**
 * C = Aᵀ B or A B: B's nonzero rows listed (pass 0), then register tiles when A's factors are
 * dense and row-adding when they are sparse; with a row count (nn over a chunk's samples), the
 * rows past it copy the last one computed.
 */
function accumulate(l: Lane, k: MatmulKernel, scratch: number): string {
  const lists = listLayout(l, k, scratch);
  const rows = takesRows(k) ? get("$rows") : i32(k.m);
  // the factors the product reads: A's first `rows` rows (nn), or all of A (tn)
  const factors = k.form === "tn" ? i32(k.m * k.n) : mul(rows, i32(k.n));
  const dense = `(i64.ge_u (i64.mul (i64.extend_i32_u ${get("$nz")}) (i64.const ${DENSE.den})) (i64.mul (i64.extend_i32_u ${factors}) (i64.const ${DENSE.num})))`;
  const rowC = k.c * l.bytes;
  const strideC = rowStrides(k).c * l.bytes;
  const copies = takesRows(k)
    ? loop(
        "$i",
        get("$done"),
        i32(k.m),
        1,
        `(memory.copy ${add(get("$out"), mul(get("$i"), i32(strideC)))} ${add(get("$out"), mul(`(i32.sub ${get("$done")} ${i32(1)})`, i32(strideC)))} ${i32(rowC)})`,
      )
    : "";
  const pass0 = `${takesRows(k) ? clampRows(k) : ""}
  ${listNonzeroRowsOfB(l, k, lists)}`;
  const tiles = tiled(l, k, { at: lists.nonzeroRows, count: "$ntl" }, rows);
  const adding = `${rowAdding(l, k, lists, rows)}\n  (local.set $done ${rows})`;
  // a product narrower or shorter than one tile: its tiles would be its tails, one element at a
  // time; A's rows apart (a head's matrix inside a larger tensor): not counted, taken as dense
  const chosen =
    k.c < TQ * lanes(l) || k.m < TR
      ? adding
      : !contiguousA(k)
        ? tiles
        : `${countNonzero(l, factors)}\n  (if ${dense} (then ${tiles}) (else ${adding}))`;
  return `${pass0}\n  ${chosen}\n  ${copies}`;
}

/** each form's locals: nt's tile; tn and nn's lists, register tile and row-adding */
function locals(l: Lane, k: MatmulKernel): { ints: string[]; scalars: string[]; vectors: string[] } {
  const loops = ["$i", "$j", "$t", "$pa", "$pb", "$po", "$iend", "$done"];
  if (k.form === "nt")
    return {
      ints: loops,
      scalars: Array.from({ length: R * Q }, (_, q) => `$s${Math.floor(q / Q)}${q % Q}`),
      vectors: [
        ...Array.from({ length: R * Q }, (_, q) => `$c${Math.floor(q / Q)}${q % Q}`),
        ...Array.from({ length: R }, (_, i) => `$x${i}`),
        "$y",
      ],
    };
  return {
    ints: [
      ...loops,
      "$e",
      "$p",
      "$q",
      "$nz",
      "$ntl",
      "$cnt",
      "$j0",
      "$j1",
      "$ve",
      "$ue",
      "$pl",
      "$pf",
      ...rowLocals.ints,
    ],
    scalars: ["$f", ...rowLocals.scalars],
    vectors: [...tileVectors, ...rowLocals.vectors],
  };
}

function kernel(l: Lane, k: MatmulKernel, scratch: number): string {
  const { ints, scalars, vectors } = locals(l, k);
  const rows = takesRows(k) ? " (param $rows i32)" : "";
  return `(func (export "${k.name}") (param $a i32) (param $b i32) (param $out i32)${rows}
  ${ints.map((x) => `(local ${x} i32)`).join(" ")}
  ${scalars.map((x) => `(local ${x} ${t(l)})`).join(" ")}
  ${vectors.map((x) => `(local ${x} v128)`).join(" ")}
  ${k.form === "nt" ? nt(l, k) : accumulate(l, k, scratch)})`;
}

/** How a kernel computes its product, for --explain-fusion. */
export function describeKernel(l: Lane, k: MatmulKernel): string {
  const simd = `WebAssembly ${v(l)}`;
  if (k.form === "nt") return `${simd}: A Bᵀ, ${R}×${Q} register tile of dot products`;
  const what = k.form === "tn" ? "Aᵀ B" : "A B";
  const into = k.accumulate ? ", added into the per-call sum" : "";
  return `${simd}: ${what}, ${TR}×${TQ}-vector register tiles over B's nonzero rows where A is ${(100 * DENSE.num) / DENSE.den} % nonzero or more, else rows of B with a nonzero factor, ${G} at a time, in L1 column blocks${into}`;
}

/** scale(p, count, s): x[i] *= s for the `count` elements at byte offset p (a batch's mean) */
function scale(l: Lane): string {
  const L = lanes(l);
  return `(func (export "scale") (param $p i32) (param $count i32) (param $s ${t(l)})
  (local $end i32) (local $vend i32) (local $sv v128)
  (local.set $sv (${v(l)}.splat (local.get $s)))
  (local.set $end (i32.add (local.get $p) (i32.mul (local.get $count) (i32.const ${l.bytes}))))
  (local.set $vend (i32.add (local.get $p) (i32.mul (i32.and (local.get $count) (i32.const ${-L})) (i32.const ${l.bytes}))))
  (block $v_done (loop $v_next
    (br_if $v_done (i32.ge_u (local.get $p) (local.get $vend)))
    (v128.store (local.get $p) (${v(l)}.mul (v128.load (local.get $p)) (local.get $sv)))
    (local.set $p (i32.add (local.get $p) (i32.const 16)))
    (br $v_next)))
  (block $s_done (loop $s_next
    (br_if $s_done (i32.ge_u (local.get $p) (local.get $end)))
    (${t(l)}.store (local.get $p) (${t(l)}.mul (${t(l)}.load (local.get $p)) (local.get $s)))
    (local.set $p (i32.add (local.get $p) (i32.const ${l.bytes})))
    (br $s_next))))`;
}

/** Bytes of scratch memory the kernels need (the row lists of tn and nn products), a multiple of 16. */
export function scratchBytes(l: Lane, ks: readonly MatmulKernel[]): number {
  const most = Math.max(0, ...ks.filter((k) => k.form !== "nt").map((k) => listBytes(l, k)));
  return Math.ceil(most / 16) * 16;
}

/** The module's text: the kernels, the loop kernels (loops.ts), and scale, over one imported memory of `pages` 64 KiB pages; `scratch` is a byte offset with scratchBytes() free. */
export function kernelModule(
  l: Lane,
  ks: readonly MatmulKernel[],
  pages: number,
  scratch: number,
  loops: readonly string[] = [],
): string {
  return `(module
(import "gradc" "memory" (memory ${pages}))
${ks.map((k) => kernel(l, k, scratch)).join("\n")}
${loops.join("\n")}
${scale(l)}
)`;
}

/** Assemble WAT to bytes with wabt (SIMD enabled). */
export async function assemble(wat: string): Promise<Uint8Array> {
  const { default: init } = await import("wabt");
  const wabt = await init();
  const mod = wabt.parseWat("gradc.wat", wat, { simd: true, bulk_memory: true });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
