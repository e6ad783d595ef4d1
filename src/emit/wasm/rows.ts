/**
 * C = Aᵀ B or A B as rows of B scaled and added into rows of C, for sparse factors. Pass 0
 * (shared with the tiled form) lists B's rows that have a nonzero element. Pass 1 lists, for each
 * row i of C, the listed rows of B with a nonzero factor (a ReLU's mask zeroes about half of a
 * gradient's rows, a padded chunk's gradient the padding's: those cost nothing) in a scratch
 * area. Pass 2 walks C in column blocks whose rows of B fit in L1, of at least 512 bytes (a block
 * of one vector, for B's 784 rows of x @ W1, spent more on each listed row's setup than on its
 * adds: 1,148 -> 570 µs for the x @ W MLP's batch of 32; blocking B's rows as well, so that B
 * is read once per chunk, measured no faster), and adds G listed rows at a time into each row of C.
 */
import { rowStrides, type MatmulKernel } from "./spec.js";
import { add, get, i32, lanes, loop, mul, t, v, type Lane } from "./wat.js";

/** rows of B added into a row of C per pass (C's row is loaded and stored once per pass) */
export const G = 4;
/** vectors of a row of C per step of the column loop */
const U = 4;
/** a block of C's columns whose rows of B stay in L1 while every row of C passes over them */
const L1_BLOCK = 16 * 1024;

/** the locals pass 2 adds with: G row pointers, factors and splats */
export const rowLocals = {
  ints: Array.from({ length: G }, (_, q) => `$p${q}`),
  scalars: Array.from({ length: G }, (_, q) => `$f${q}`),
  vectors: Array.from({ length: G }, (_, q) => `$v${q}`),
};

/**
 * The scratch: m counts, then per row i n row pointers, then n factors, then n flags (whether
 * row t of B has a nonzero element), then the list of those rows; and row i's pointers into it.
 */
export function listLayout(l: Lane, k: MatmulKernel, scratch: number) {
  const counts = scratch;
  const ptrs = counts + k.m * 4;
  const facts = ptrs + k.m * k.n * 4;
  const flags = facts + k.m * k.n * l.bytes;
  const nonzeroRows = flags + k.n * 4;
  const rowPointers = `(local.set $pl ${add(i32(ptrs), mul(get("$i"), i32(k.n * 4)))})
      (local.set $pf ${add(i32(facts), mul(get("$i"), i32(k.n * l.bytes)))})`;
  return { counts, flags, nonzeroRows, rowPointers };
}

/** Bytes of one kernel's scratch. */
export const listBytes = (l: Lane, k: MatmulKernel): number => k.m * 4 + k.m * k.n * (4 + l.bytes) + 2 * k.n * 4;

/**
 * Pass 0: flag each row of B that has a nonzero element (the scan stops at the first), and list
 * them, their count in $ntl. A zero row adds nothing whatever its factor: the rows of a padded
 * chunk's samples in a gradient Xᵀ G are zero in G, while their factors, from X, are not.
 */
export function listNonzeroRowsOfB(l: Lane, k: MatmulKernel, lists: ReturnType<typeof listLayout>): string {
  const rowB = k.c * l.bytes;
  const strideB = rowStrides(k).b * l.bytes;
  return `(local.set $ntl ${i32(0)})
  ${loop(
    "$t",
    i32(0),
    i32(k.n),
    1,
    `(local.set $cnt ${i32(0)})
    (local.set $pb ${add(get("$b"), mul(get("$t"), i32(strideB)))})
    (local.set $j ${i32(0)})
    (block $scan_done (loop $scan_next
      (br_if $scan_done (i32.ge_u ${get("$j")} ${i32(rowB)}))
      (if (${t(l)}.ne (${t(l)}.load ${add(get("$pb"), get("$j"))}) (${t(l)}.const 0))
        (then (local.set $cnt ${i32(1)}) (br $scan_done)))
      (local.set $j (i32.add ${get("$j")} ${i32(l.bytes)}))
      (br $scan_next)))
    (i32.store ${add(i32(lists.flags), `(i32.shl ${get("$t")} ${i32(2)})`)} ${get("$cnt")})
    (if ${get("$cnt")} (then
      (i32.store ${add(i32(lists.nonzeroRows), `(i32.shl ${get("$ntl")} ${i32(2)})`)} ${get("$t")})
      (local.set $ntl (i32.add ${get("$ntl")} ${i32(1)}))))`,
  )}`;
}

/** pass 1: for each row i of C, the rows of B with a nonzero factor, and the factors */
function listNonzeroFactors(l: Lane, k: MatmulKernel, lists: ReturnType<typeof listLayout>, rows: string): string {
  const ld = rowStrides(k);
  const rowB = ld.b * l.bytes;
  const factor =
    k.form === "tn"
      ? `(${t(l)}.load ${add(get("$a"), mul(add(mul(get("$t"), i32(ld.a)), get("$i")), i32(l.bytes)))})`
      : `(${t(l)}.load ${add(get("$a"), mul(add(mul(get("$i"), i32(ld.a)), get("$t")), i32(l.bytes)))})`;
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
        (i32.store ${add(get("$pl"), `(i32.shl ${get("$cnt")} ${i32(2)})`)} ${add(get("$b"), mul(get("$t"), i32(rowB)))})
        (${t(l)}.store ${add(get("$pf"), mul(get("$cnt"), i32(l.bytes)))} ${get("$f")})
        (local.set $cnt (i32.add ${get("$cnt")} ${i32(1)}))))`,
    )}
    (i32.store ${add(i32(lists.counts), `(i32.shl ${get("$i")} ${i32(2)})`)} ${get("$cnt")})`,
  );
}

/** pass 2: add g listed rows, starting at entry $e, into row $po of C over bytes [$j0, $j1) */
function addListedRows(l: Lane, g: number, main: number, rowB: number): string {
  const setup: string[] = [];
  for (let q = 0; q < g; q++) {
    setup.push(`(local.set $p${q} (i32.load offset=${q * 4} ${add(get("$pl"), `(i32.shl ${get("$e")} ${i32(2)})`)}))`);
    setup.push(
      `(local.set $f${q} (${t(l)}.load offset=${q * l.bytes} ${add(get("$pf"), mul(get("$e"), i32(l.bytes)))}))`,
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

/** passes 1 and 2 over C's first `rows` rows (an i32 expression), after pass 0 */
export function rowAdding(l: Lane, k: MatmulKernel, lists: ReturnType<typeof listLayout>, rows: string): string {
  const rowB = k.c * l.bytes;
  const strideC = rowStrides(k).c * l.bytes;
  const main = (k.c - (k.c % lanes(l))) * l.bytes;
  const grouped = `(local.set $cnt (i32.load ${add(i32(lists.counts), `(i32.shl ${get("$i")} ${i32(2)})`)}))
      ${lists.rowPointers}
      (local.set $po ${add(get("$out"), mul(get("$i"), i32(strideC)))})
      ${loop("$e", i32(0), `(i32.sub ${get("$cnt")} (i32.rem_u ${get("$cnt")} ${i32(G)}))`, G, addListedRows(l, G, main, rowB))}
      ${loop("$e", `(i32.sub ${get("$cnt")} (i32.rem_u ${get("$cnt")} ${i32(G)}))`, get("$cnt"), 1, addListedRows(l, 1, main, rowB))}`;
  // column blocks of whole vectors, 512 bytes or more; the last block also takes the columns past them
  const block = Math.max(16 * U * 8, Math.floor(L1_BLOCK / Math.max(1, k.n) / 16) * 16);
  // C's rows zeroed first (one fill when they are contiguous, a fill per row when they are apart)
  const zero = k.accumulate
    ? ""
    : strideC === rowB
      ? `(memory.fill ${get("$out")} ${i32(0)} (i32.mul ${rows} ${i32(rowB)}))`
      : loop(
          "$i",
          i32(0),
          rows,
          1,
          `(memory.fill ${add(get("$out"), mul(get("$i"), i32(strideC)))} ${i32(0)} ${i32(rowB)})`,
        );
  return `${listNonzeroFactors(l, k, lists, rows)}
  ${zero}
  (local.set $j0 ${i32(0)})
  (block $blocks_done (loop $blocks_next
    (local.set $j1 (i32.add ${get("$j0")} ${i32(block)}))
    (if (i32.ge_u ${get("$j1")} ${i32(main)}) (then (local.set $j1 ${i32(rowB)})))
    ${loop("$i", i32(0), rows, 1, grouped)}
    (local.set $j0 ${get("$j1")})
    (br_if $blocks_next (i32.lt_u ${get("$j0")} ${i32(main)}))))`;
}
