/**
 * WebAssembly SIMD matrix products, one function per product in the program, specialized to
 * its shapes (loop bounds and row strides are constants). Written as WAT text, assembled by wabt.
 * Format of each form: C[m, c] from row-major operands at byte offsets (a, b, out):
 *   nt  C = A Bᵀ   A [m, n], B [c, n]: dot products of rows, `lanes` elements per step
 *   tn  C = Aᵀ B   A [n, m], B [n, c]: rows of B scaled and added into rows of C
 *   nn  C = A B    A [m, n], B [n, c]: the same, with A read along its rows
 * nt and nn (unless accumulating) take a 4th argument, `rows`: only A's first rows are computed
 * and the rest of C copies the last of them (a padded chunk's padding repeats its last sample).
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

/** nt register tile: R rows of A against Q rows of B, R·Q vector accumulators (x64 has 16 registers) */
const R = 2;
const Q = 4;
/** tn/nn: rows of B added into a row of C per pass (C's row is loaded and stored once per pass) */
const G = 4;
/** tn/nn: vectors of a row of C per step of the column loop */
const U = 4;
/** tn/nn: a block of C's columns whose rows of B stay in L1 while every row of C passes over them */
const L1_BLOCK = 16 * 1024;

const get = (x: string) => `(local.get ${x})`;
const i32 = (k: number) => `(i32.const ${k})`;
const add = (x: string, y: string) => `(i32.add ${x} ${y})`;

/** sum of the lanes of a vector */
function horizontal(l: Lane, x: string): string {
  const parts = Array.from({ length: lanes(l) }, (_, k) => `(${v(l)}.extract_lane ${k} ${get(x)})`);
  return parts.reduce((a, b) => `(${t(l)}.add ${a} ${b})`);
}

/** while (var < bound) { body; var += step } — var, bound and step as i32 expressions */
function loop(name: string, from: string, bound: string, step: number, body: string): string {
  const label = name.slice(1);
  return `(local.set ${name} ${from})
  (block $${label}_done (loop $${label}_next
    (br_if $${label}_done (i32.ge_u ${get(name)} ${bound}))
    ${body}
    (local.set ${name} (i32.add ${get(name)} ${i32(step)}))
    (br $${label}_next)))`;
}

/**
 * An r × q tile of C = A Bᵀ at rows $pa (of A) and $pb (of B): every vector loaded from a row of A
 * meets q rows of B, and every vector from B meets r rows of A. Bytes into the rows step with $t;
 * the rows below are constant offsets (`offset=` immediates), so a step costs one add per load.
 */
function ntTile(l: Lane, k: MatmulKernel, r: number, q: number): string {
  const row = k.n * l.bytes;
  const main = (k.n - (k.n % lanes(l))) * l.bytes;
  const acc = (i: number, j: number) => `$c${i}${j}`;
  const s: string[] = [];
  for (let i = 0; i < r; i++) for (let j = 0; j < q; j++) s.push(`(local.set ${acc(i, j)} (v128.const i32x4 0 0 0 0))`);
  const step: string[] = [];
  for (let i = 0; i < r; i++)
    step.push(`(local.set $x${i} (v128.load offset=${i * row} (i32.add ${get("$pa")} ${get("$t")})))`);
  for (let j = 0; j < q; j++) {
    step.push(`(local.set $y (v128.load offset=${j * row} (i32.add ${get("$pb")} ${get("$t")})))`);
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
        `(local.set $s${i}${j} (${t(l)}.add ${get(`$s${i}${j}`)} (${t(l)}.mul (${t(l)}.load offset=${i * row} (i32.add ${get("$pa")} ${get("$t")})) (${t(l)}.load offset=${j * row} (i32.add ${get("$pb")} ${get("$t")})))))`,
      );
  if (main < row) s.push(loop("$t", i32(main), i32(row), l.bytes, tail.join("\n      ")));
  // C[i + di, j + dj] at $po + (di·c + dj)·bytes
  for (let i = 0; i < r; i++)
    for (let j = 0; j < q; j++)
      s.push(`(${t(l)}.store offset=${(i * k.c + j) * l.bytes} ${get("$po")} ${get(`$s${i}${j}`)})`);
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
  const row = k.n * l.bytes;
  // B's rows outermost: q rows of B stay in cache while every row of A passes over them
  return loop(
    "$j",
    i32(j0),
    i32(j1),
    q,
    `(local.set $pb ${add(get("$b"), `(i32.mul ${get("$j")} ${i32(row)})`)})
    ${loop(
      "$i",
      i32(i0),
      i1,
      r,
      `(local.set $pa ${add(get("$a"), `(i32.mul ${get("$i")} ${i32(row)})`)})
      (local.set $po ${add(get("$out"), `(i32.mul (i32.add (i32.mul ${get("$i")} ${i32(k.c)}) ${get("$j")}) ${i32(l.bytes)})`)})
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
  // rows computed: $rows rounded up to whole tiles, at most m
  const done = `(select ${i32(k.m)} (local.tee $iend (i32.mul (i32.div_u (i32.add ${get("$rows")} ${i32(R - 1)}) ${i32(R)}) ${i32(R)})) (i32.gt_u ${get("$iend")} ${i32(mr)}))`;
  return `${clampRows(k)}
  (local.set $done ${done})
  (if (i32.gt_u ${get("$iend")} ${i32(mr)}) (then (local.set $iend ${i32(mr)})))
  ${ntBlock(l, k, 0, get("$iend"), 0, cq, R, Q)}
  ${ntBlock(l, k, 0, get("$iend"), cq, k.c, 1, 1)}
  ${mr < k.m ? `(if (i32.eq ${get("$done")} ${i32(k.m)}) (then ${ntBlock(l, k, mr, i32(k.m), 0, k.c, 1, 1)}))` : ""}
  ${loop("$i", get("$done"), i32(k.m), 1, `(memory.copy ${add(get("$out"), `(i32.mul ${get("$i")} ${i32(rowC)})`)} ${add(get("$out"), `(i32.mul (i32.sub ${get("$done")} ${i32(1)}) ${i32(rowC)})`)} ${i32(rowC)})`)}`;
}

/**
 * C = Aᵀ B or A B, as rows of B scaled and added into rows of C. Pass 1 lists, for each row i of
 * C, the nonzero rows of B with a nonzero factor (a ReLU's mask zeroes about half of a
 * gradient's rows, a padded chunk's gradient the padding's: those cost nothing) in a scratch
 * area. Pass 2 walks C in column blocks whose rows of B fit in L1, of at least 512 bytes (a block
 * of one vector, for B's 784 rows of x @ W1, spent more on each listed row's setup than on its
 * adds: 1,148 -> 570 µs for the x @ W MLP's batch of 32; blocking B's rows as well, so that B
 * is read once per chunk, measured no faster), and adds G listed rows at a time into each row of C.
 */
function accumulate(l: Lane, k: MatmulKernel, scratch: number): string {
  const L = lanes(l);
  const rowB = k.c * l.bytes;
  const main = (k.c - (k.c % L)) * l.bytes;
  const lists = listLayout(l, k, scratch);
  // A B over sample rows: the first $rows rows of C, the rest copies of the last (see nt)
  const rows = takesRows(k) ? get("$rows") : i32(k.m);
  const grouped = `(local.set $cnt (i32.load ${add(i32(lists.counts), `(i32.shl ${get("$i")} ${i32(2)})`)}))
      ${lists.rowPointers}
      (local.set $po ${add(get("$out"), `(i32.mul ${get("$i")} ${i32(rowB)})`)})
      ${loop("$e", i32(0), `(i32.sub ${get("$cnt")} (i32.rem_u ${get("$cnt")} ${i32(G)}))`, G, addListedRows(l, G, main, rowB))}
      ${loop("$e", `(i32.sub ${get("$cnt")} (i32.rem_u ${get("$cnt")} ${i32(G)}))`, get("$cnt"), 1, addListedRows(l, 1, main, rowB))}`;
  // column blocks of whole vectors, 512 bytes or more; the last block also takes the columns past them
  const block = Math.max(16 * U * 8, Math.floor(L1_BLOCK / Math.max(1, k.n) / 16) * 16);
  const zero = k.accumulate ? "" : `(memory.fill ${get("$out")} ${i32(0)} (i32.mul ${rows} ${i32(rowB)}))`;
  const copies = takesRows(k)
    ? loop(
        "$i",
        get("$rows"),
        i32(k.m),
        1,
        `(memory.copy ${add(get("$out"), `(i32.mul ${get("$i")} ${i32(rowB)})`)} ${add(get("$out"), `(i32.mul (i32.sub ${get("$rows")} ${i32(1)}) ${i32(rowB)})`)} ${i32(rowB)})`,
      )
    : "";
  return `${takesRows(k) ? clampRows(k) : ""}
  ${flagNonzeroRowsOfB(l, k, lists.flags)}
  ${listNonzeroRows(l, k, lists, rows)}
  ${zero}
  (local.set $j0 ${i32(0)})
  (block $blocks_done (loop $blocks_next
    (local.set $j1 (i32.add ${get("$j0")} ${i32(block)}))
    (if (i32.ge_u ${get("$j1")} ${i32(main)}) (then (local.set $j1 ${i32(rowB)})))
    ${loop("$i", i32(0), rows, 1, grouped)}
    (local.set $j0 ${get("$j1")})
    (br_if $blocks_next (i32.lt_u ${get("$j0")} ${i32(main)}))))
  ${copies}`;
}

/**
 * accumulate's scratch: m counts, then per row i n row pointers, then n factors, then n flags
 * (whether row t of B has a nonzero element); and row i's pointers into it
 */
function listLayout(l: Lane, k: MatmulKernel, scratch: number) {
  const counts = scratch;
  const ptrs = counts + k.m * 4;
  const facts = ptrs + k.m * k.n * 4;
  const flags = facts + k.m * k.n * l.bytes;
  const rowPointers = `(local.set $pl ${add(i32(ptrs), `(i32.mul ${get("$i")} ${i32(k.n * 4)})`)})
      (local.set $pf ${add(i32(facts), `(i32.mul ${get("$i")} ${i32(k.n * l.bytes)})`)})`;
  return { counts, flags, rowPointers };
}

/**
 * accumulate's pass 0: flag each row of B that has a nonzero element (the scan stops at the
 * first). A zero row adds nothing whatever its factor: the rows of a padded chunk's samples in
 * a gradient Xᵀ G are zero in G, while their factors, from X, are not.
 */
function flagNonzeroRowsOfB(l: Lane, k: MatmulKernel, flags: number): string {
  const rowB = k.c * l.bytes;
  return loop(
    "$t",
    i32(0),
    i32(k.n),
    1,
    `(local.set $cnt ${i32(0)})
    (local.set $pb ${add(get("$b"), `(i32.mul ${get("$t")} ${i32(rowB)})`)})
    (local.set $j ${i32(0)})
    (block $scan_done (loop $scan_next
      (br_if $scan_done (i32.ge_u ${get("$j")} ${i32(rowB)}))
      (if (${t(l)}.ne (${t(l)}.load ${add(get("$pb"), get("$j"))}) (${t(l)}.const 0))
        (then (local.set $cnt ${i32(1)}) (br $scan_done)))
      (local.set $j (i32.add ${get("$j")} ${i32(l.bytes)}))
      (br $scan_next)))
    (i32.store ${add(i32(flags), `(i32.shl ${get("$t")} ${i32(2)})`)} ${get("$cnt")})`,
  );
}

/** pass 1 of accumulate: for each row i of C, the rows of B with a nonzero factor, and the factors */
function listNonzeroRows(l: Lane, k: MatmulKernel, lists: ReturnType<typeof listLayout>, rows: string): string {
  const rowB = k.c * l.bytes;
  const factor =
    k.form === "tn"
      ? `(${t(l)}.load ${add(get("$a"), `(i32.mul (i32.add (i32.mul ${get("$t")} ${i32(k.m)}) ${get("$i")}) ${i32(l.bytes)})`)})`
      : `(${t(l)}.load ${add(get("$a"), `(i32.mul (i32.add (i32.mul ${get("$i")} ${i32(k.n)}) ${get("$t")}) ${i32(l.bytes)})`)})`;
  return loop(
    "$i",
    i32(0),
    rows,
    1,
    `(local.set $cnt ${i32(0)})
    ${lists.rowPointers}
    ${loop(
      "$t",
      i32(0),
      i32(k.n),
      1,
      `(local.set $f ${factor})
      (if (i32.and (${t(l)}.ne ${get("$f")} (${t(l)}.const 0)) (i32.load ${add(i32(lists.flags), `(i32.shl ${get("$t")} ${i32(2)})`)})) (then
        (i32.store ${add(get("$pl"), `(i32.shl ${get("$cnt")} ${i32(2)})`)} ${add(get("$b"), `(i32.mul ${get("$t")} ${i32(rowB)})`)})
        (${t(l)}.store ${add(get("$pf"), `(i32.mul ${get("$cnt")} ${i32(l.bytes)})`)} ${get("$f")})
        (local.set $cnt (i32.add ${get("$cnt")} ${i32(1)}))))`,
    )}
    (i32.store ${add(i32(lists.counts), `(i32.shl ${get("$i")} ${i32(2)})`)} ${get("$cnt")})`,
  );
}

/** pass 2 of accumulate: add g listed rows, starting at entry $e, into row $po of C over bytes [$j0, $j1) */
function addListedRows(l: Lane, g: number, main: number, rowB: number): string {
  const setup: string[] = [];
  for (let q = 0; q < g; q++) {
    setup.push(`(local.set $p${q} (i32.load offset=${q * 4} ${add(get("$pl"), `(i32.shl ${get("$e")} ${i32(2)})`)}))`);
    setup.push(
      `(local.set $f${q} (${t(l)}.load offset=${q * l.bytes} ${add(get("$pf"), `(i32.mul ${get("$e")} ${i32(l.bytes)})`)}))`,
    );
    setup.push(`(local.set $v${q} (${v(l)}.splat ${get(`$f${q}`)}))`);
  }
  /** the vector `k` vectors past $j of row $po, plus the g rows of B there times their factors */
  const vec = (k: number) => {
    const terms = Array.from(
      { length: g },
      (_, q) => `(${v(l)}.mul ${get(`$v${q}`)} (v128.load offset=${k * 16} ${add(get(`$p${q}`), get("$j"))}))`,
    );
    return `(v128.store offset=${k * 16} ${add(get("$po"), get("$j"))} (${v(l)}.add (v128.load offset=${k * 16} ${add(get("$po"), get("$j"))}) ${terms.reduce((x, y) => `(${v(l)}.add ${x} ${y})`)}))`;
  };
  const unrolled = Array.from({ length: U }, (_, k) => vec(k)).join("\n          ");
  const sterms = Array.from(
    { length: g },
    (_, q) => `(${t(l)}.mul ${get(`$f${q}`)} (${t(l)}.load ${add(get(`$p${q}`), get("$j"))}))`,
  );
  const one = `(${t(l)}.store ${add(get("$po"), get("$j"))} (${t(l)}.add (${t(l)}.load ${add(get("$po"), get("$j"))}) ${sterms.reduce((x, y) => `(${t(l)}.add ${x} ${y})`)}))`;
  return `${setup.join(" ")}
        (local.set $ve (select ${get("$j1")} ${i32(main)} (i32.lt_u ${get("$j1")} ${i32(main)})))
        (local.set $ue (i32.add ${get("$j0")} (i32.and (i32.sub ${get("$ve")} ${get("$j0")}) ${i32(-16 * U)})))
        ${loop("$j", get("$j0"), get("$ue"), 16 * U, unrolled)}
        ${loop("$j", get("$ue"), get("$ve"), 16, vec(0))}
        (if (i32.ge_u ${get("$j1")} ${i32(rowB)}) (then ${loop("$j", i32(main), i32(rowB), l.bytes, one)}))`;
}

function kernel(l: Lane, k: MatmulKernel, scratch: number): string {
  const vecs = [
    ...Array.from({ length: R * Q }, (_, q) => `$c${Math.floor(q / Q)}${q % Q}`),
    ...Array.from({ length: R }, (_, i) => `$x${i}`),
    "$y",
    ...Array.from({ length: G }, (_, q) => `$v${q}`),
  ];
  const scalars = [
    ...Array.from({ length: R * Q }, (_, q) => `$s${Math.floor(q / Q)}${q % Q}`),
    "$f",
    ...Array.from({ length: G }, (_, q) => `$f${q}`),
  ];
  const ints = [
    "$i",
    "$j",
    "$t",
    "$e",
    "$j0",
    "$j1",
    "$ve",
    "$ue",
    "$iend",
    "$done",
    "$cnt",
    "$pa",
    "$pb",
    "$po",
    "$pl",
    "$pf",
    ...Array.from({ length: G }, (_, q) => `$p${q}`),
  ];
  const rows = takesRows(k) ? " (param $rows i32)" : "";
  return `(func (export "${k.name}") (param $a i32) (param $b i32) (param $out i32)${rows}
  ${ints.map((x) => `(local ${x} i32)`).join(" ")}
  ${scalars.map((x) => `(local ${x} ${t(l)})`).join(" ")}
  ${vecs.map((x) => `(local ${x} v128)`).join(" ")}
  ${k.form === "nt" ? nt(l, k) : accumulate(l, k, scratch)})`;
}

/** How a kernel computes its product, for --explain-fusion. */
export function describeKernel(l: Lane, k: MatmulKernel): string {
  const simd = `WebAssembly ${v(l)}`;
  if (k.form === "nt") return `${simd}: A Bᵀ, ${R}×${Q} register tile of dot products`;
  const what = k.form === "tn" ? "Aᵀ B" : "A B";
  const into = k.accumulate ? ", added into the per-call sum" : "";
  return `${simd}: ${what}, rows of B with a nonzero factor, ${G} at a time, in L1 column blocks${into}`;
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
  const most = Math.max(
    0,
    ...ks.filter((k) => k.form !== "nt").map((k) => k.m * 4 + k.m * k.n * (4 + l.bytes) + k.n * 4),
  );
  return Math.ceil(most / 16) * 16;
}

/** The module's text: the kernels, and scale, over one imported memory of `pages` 64 KiB pages; `scratch` is a byte offset with scratchBytes() free. */
export function kernelModule(l: Lane, ks: readonly MatmulKernel[], pages: number, scratch: number): string {
  return `(module
(import "gradc" "memory" (memory ${pages}))
${ks.map((k) => kernel(l, k, scratch)).join("\n")}
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
