/**
 * WebAssembly SIMD matrix products, one function per product in the program, specialized to
 * its shapes (loop bounds are constants). Written as WAT text and assembled by wabt.
 * Format of each form: C[m, c] from row-major operands at byte offsets (a, b, out):
 *   nt  C = A Bᵀ   A [m, n], B [c, n]: dot products of rows, `lanes` elements per step
 *   tn  C = Aᵀ B   A [n, m], B [n, c]: rows of B scaled and added into rows of C
 *   nn  C = A B    A [m, n], B [n, c]: the same, with A read along its rows
 */
export type Form = "nt" | "tn" | "nn";

export interface MatmulKernel {
  readonly name: string;
  readonly form: Form;
  readonly m: number;
  readonly n: number;
  readonly c: number;
  /** tn and nn only: add into C instead of overwriting it (a gradient summed over chunks) */
  readonly accumulate?: boolean;
}

export interface Lane {
  /** f64: 8 bytes, 2 lanes; f32: 4 bytes, 4 lanes */
  readonly bytes: 4 | 8;
}

const t = (l: Lane) => (l.bytes === 8 ? "f64" : "f32");
const v = (l: Lane) => (l.bytes === 8 ? "f64x2" : "f32x4");
const lanes = (l: Lane) => 16 / l.bytes;

/** sum of the lanes of a vector */
function horizontal(l: Lane, x: string): string {
  const parts = Array.from({ length: lanes(l) }, (_, k) => `(${v(l)}.extract_lane ${k} (local.get ${x}))`);
  return parts.reduce((a, b) => `(${t(l)}.add ${a} ${b})`);
}

/** a counted loop: for (var = from; var < bound; var += step) body */
function loop(name: string, bound: number, step: number, body: string, from = 0): string {
  return `(local.set ${name} (i32.const ${from}))
  (block $${name.slice(1)}_done (loop $${name.slice(1)}_next
    (br_if $${name.slice(1)}_done (i32.ge_u (local.get ${name}) (i32.const ${bound})))
    ${body}
    (local.set ${name} (i32.add (local.get ${name}) (i32.const ${step})))
    (br $${name.slice(1)}_next)))`;
}

/** byte address of element (row, col) of a row-major matrix with `cols` columns at base */
const addr = (l: Lane, base: string, row: string, cols: number, col: string) =>
  `(i32.add (local.get ${base}) (i32.mul (i32.add (i32.mul (local.get ${row}) (i32.const ${cols})) (local.get ${col})) (i32.const ${l.bytes})))`;

/** row + k, as an i32 expression */
const plus = (row: string, k: number) => (k === 0 ? `(local.get ${row})` : `(i32.add (local.get ${row}) (i32.const ${k}))`);
const at = (l: Lane, base: string, row: string, dr: number, cols: number, col: string) =>
  `(i32.add (local.get ${base}) (i32.mul (i32.add (i32.mul ${plus(row, dr)} (i32.const ${cols})) (local.get ${col})) (i32.const ${l.bytes})))`;

/** one output element C[i, j] = A[i, :] . B[j, :] */
function ntElement(l: Lane, k: MatmulKernel): string {
  const L = lanes(l);
  const main = k.n - (k.n % L);
  return `(local.set $acc (v128.const i32x4 0 0 0 0))
    ${loop("$t", main, L, `(local.set $acc (${v(l)}.add (local.get $acc) (${v(l)}.mul (v128.load ${addr(l, "$a", "$i", k.n, "$t")}) (v128.load ${addr(l, "$b", "$j", k.n, "$t")}))))`)}
    (local.set $s ${horizontal(l, "$acc")})
    ${loop("$t", k.n, 1, `(local.set $s (${t(l)}.add (local.get $s) (${t(l)}.mul (${t(l)}.load ${addr(l, "$a", "$i", k.n, "$t")}) (${t(l)}.load ${addr(l, "$b", "$j", k.n, "$t")}))))`, main)}
    (${t(l)}.store ${addr(l, "$out", "$i", k.c, "$j")} (local.get $s))`;
}

/** a 2 x 2 tile: rows i, i+1 of A against rows j, j+1 of B share every vector load */
function ntTile(l: Lane, k: MatmulKernel): string {
  const L = lanes(l);
  const main = k.n - (k.n % L);
  const accs = ["$c00", "$c01", "$c10", "$c11"];
  const pairs: [string, number, number][] = [["$c00", 0, 0], ["$c01", 0, 1], ["$c10", 1, 0], ["$c11", 1, 1]];
  const fma = (acc: string, x: string, y: string) => `(local.set ${acc} (${v(l)}.add (local.get ${acc}) (${v(l)}.mul (local.get ${x}) (local.get ${y}))))`;
  const scalarTail = pairs
    .map(([, di, dj], q) => `(local.set $s${q} (${t(l)}.add (local.get $s${q}) (${t(l)}.mul (${t(l)}.load ${at(l, "$a", "$i", di, k.n, "$t")}) (${t(l)}.load ${at(l, "$b", "$j", dj, k.n, "$t")}))))`)
    .join("\n      ");
  return `${accs.map((c) => `(local.set ${c} (v128.const i32x4 0 0 0 0))`).join(" ")}
    ${loop("$t", main, L, `(local.set $x0 (v128.load ${at(l, "$a", "$i", 0, k.n, "$t")}))
      (local.set $x1 (v128.load ${at(l, "$a", "$i", 1, k.n, "$t")}))
      (local.set $y0 (v128.load ${at(l, "$b", "$j", 0, k.n, "$t")}))
      (local.set $y1 (v128.load ${at(l, "$b", "$j", 1, k.n, "$t")}))
      ${fma("$c00", "$x0", "$y0")} ${fma("$c01", "$x0", "$y1")} ${fma("$c10", "$x1", "$y0")} ${fma("$c11", "$x1", "$y1")}`)}
    ${pairs.map(([acc], q) => `(local.set $s${q} ${horizontal(l, acc)})`).join(" ")}
    ${loop("$t", k.n, 1, scalarTail, main)}
    ${pairs.map(([, di, dj], q) => `(${t(l)}.store ${at(l, "$out", "$i", di, k.c, `$j${dj ? "1" : ""}`)} (local.get $s${q}))`).join(" ")}`;
}

function nt(l: Lane, k: MatmulKernel): string {
  const m2 = k.m - (k.m % 2);
  const c2 = k.c - (k.c % 2);
  // W's rows outermost: each pair of rows of B is read from memory once, for every row of A
  const tiles = loop("$j", c2, 2, `(local.set $j1 (i32.add (local.get $j) (i32.const 1)))
    ${loop("$i", m2, 2, ntTile(l, k))}`);
  const oddRow = m2 < k.m ? loop("$j", k.c, 1, `(local.set $i (i32.const ${m2})) ${ntElement(l, k)}`) : "";
  const oddCol = c2 < k.c ? loop("$i", m2, 1, `(local.set $j (i32.const ${c2})) ${ntElement(l, k)}`) : "";
  return `${tiles}\n  ${oddRow}\n  ${oddCol}`;
}

/** C[i, :] += sum over q < rows of a_q * B[t + q, :], `lanes` columns at a time, then the tail */
function axpy(l: Lane, k: MatmulKernel, aOf: (dt: number) => string, rows: number): string {
  const L = lanes(l);
  const main = k.c - (k.c % L);
  const sumV = Array.from({ length: rows }, (_, q) => `(${v(l)}.mul (local.get $av${q}) (v128.load ${at(l, "$b", "$t", q, k.c, "$j")}))`).reduce((x, y) => `(${v(l)}.add ${x} ${y})`);
  const sumS = Array.from({ length: rows }, (_, q) => `(${t(l)}.mul ${aOf(q)} (${t(l)}.load ${at(l, "$b", "$t", q, k.c, "$j")}))`).reduce((x, y) => `(${t(l)}.add ${x} ${y})`);
  return `${Array.from({ length: rows }, (_, q) => `(local.set $av${q} (${v(l)}.splat ${aOf(q)}))`).join(" ")}
    ${loop("$j", main, L, `(v128.store ${addr(l, "$out", "$i", k.c, "$j")} (${v(l)}.add (v128.load ${addr(l, "$out", "$i", k.c, "$j")}) ${sumV}))`)}
    ${loop("$j", k.c, 1, `(${t(l)}.store ${addr(l, "$out", "$i", k.c, "$j")} (${t(l)}.add (${t(l)}.load ${addr(l, "$out", "$i", k.c, "$j")}) ${sumS}))`, main)}`;
}

function accumulate(l: Lane, k: MatmulKernel, aOf: (dt: number) => string): string {
  // output row i stays in cache while the rows of B are added into it, four at a time
  const zero = k.accumulate ? "" : `(memory.fill (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const ${k.c * l.bytes}))) (i32.const 0) (i32.const ${k.c * l.bytes}))`;
  const n4 = k.n - (k.n % 4);
  return loop("$i", k.m, 1, `${zero}
    ${loop("$t", n4, 4, axpy(l, k, aOf, 4))}
    ${loop("$t", k.n, 1, axpy(l, k, aOf, 1), n4)}`);
}

function kernel(l: Lane, k: MatmulKernel): string {
  // A's element for output row i and source row t + dt: G[t + dt, i] for Aᵀ B, A[i, t + dt] for A B
  const tnA = (dt: number) => `(${t(l)}.load ${at(l, "$a", "$t", dt, k.m, "$i")})`;
  const nnA = (dt: number) => `(${t(l)}.load (i32.add ${addr(l, "$a", "$i", k.n, "$t")} (i32.const ${dt * l.bytes})))`;
  const body = k.form === "nt" ? nt(l, k) : accumulate(l, k, k.form === "tn" ? tnA : nnA);
  return `(func (export "${k.name}") (param $a i32) (param $b i32) (param $out i32)
  (local $i i32) (local $j i32) (local $j1 i32) (local $t i32) (local $s ${t(l)}) (local $s0 ${t(l)}) (local $s1 ${t(l)}) (local $s2 ${t(l)}) (local $s3 ${t(l)})
  (local $acc v128) (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128)
  (local $av0 v128) (local $av1 v128) (local $av2 v128) (local $av3 v128)
  ${body})`;
}

/** The module's text: the kernels over one imported memory of `pages` 64 KiB pages. */
export function kernelModule(l: Lane, ks: readonly MatmulKernel[], pages: number): string {
  return `(module
(import "gradc" "memory" (memory ${pages}))
${ks.map((k) => kernel(l, k)).join("\n")}
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
