import { assign, decl, id, index, num, printStmts, type Stmt } from "../../code/syntax.js";

/**
 * V8 optimizes a function only when its bytecode is small enough (`--max-optimized-bytecode-size`,
 * 60 KiB; past about half of that it already falls back to a slower register allocator): a larger
 * one runs in the interpreter, many times slower. A LeNet-5's gradient body is hundreds of KiB of
 * source. So a body longer than SPLIT_FROM characters is cut, between top-level statements, into
 * parts of at most PART_SIZE, each a function of its own that the original calls in order.
 *
 * A part re-reads the locals it needs that are loads (`const W1 = params.W1`, `const u3 =
 * workspace.u3`): cheap, and V8 keeps them in registers. A value one part computes and a later
 * one reads (a scalar: the loss so far, a unit's value) goes through a Float64Array of the
 * module, the function's spill slots.
 */
export const SPLIT_FROM = 40_000;
const PART_SIZE = 20_000;

export interface Split {
  /** the function's new body: the calls of the parts, then its last statement (return) */
  readonly main: Stmt[];
  readonly parts: readonly Stmt[][];
  /** how many spill slots the parts share */
  readonly spills: number;
}

/** Every node of a statement or expression tree (objects with a kind `k`), depth first. */
function visit(x: unknown, f: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(x)) for (const y of x) visit(y, f);
  else if (x && typeof x === "object") {
    const o = x as Record<string, unknown>;
    if ("k" in o) f(o);
    for (const v of Object.values(o)) if (v && typeof v === "object") visit(v, f);
  }
}

/** The names a statement (or expression) reads or writes: every identifier in it, and in raw text. */
export function namesIn(x: unknown): Set<string> {
  const out = new Set<string>();
  visit(x, (o) => {
    if (o.k === "id") out.add(o.name as string);
    if (o.k === "raw") for (const m of (o.text as string).matchAll(/[A-Za-z_$][\w$]*/g)) out.add(m[0]);
  });
  return out;
}

/** The names a statement assigns (x = ..., x += ..., anywhere inside it). */
function assignedIn(x: unknown): Set<string> {
  const out = new Set<string>();
  visit(x, (o) => {
    const t = o.target as { k?: string; name?: string } | undefined;
    if (o.k === "assign" && t?.k === "id") out.add(t.name!);
  });
  return out;
}

type Decl = Extract<Stmt, { k: "decl" }>;
/** a declaration whose value is a load (a name, or a property of one): a later part declares it again */
const isLoad = (d: Decl): boolean => {
  let e = d.init;
  while (e.k === "member") e = e.obj;
  return e.k === "id";
};

/** consecutive statements in groups of at most PART_SIZE printed characters (a longer statement alone) */
function groups(body: readonly Stmt[]): Stmt[][] {
  const out: Stmt[][] = [];
  let size = PART_SIZE;
  for (const s of body) {
    const n = printStmts([s]).join("\n").length;
    if (size + n > PART_SIZE) {
      out.push([]);
      size = 0;
    }
    out[out.length - 1].push(s);
    size += n;
  }
  return out;
}

/**
 * Split a function body: `head` leading declarations and checks, the statements, and a last
 * `return` (if any), `length` characters long as printed; `spill` names the module's array of
 * spill slots. Undefined when the body is short enough to stay one function.
 */
export function splitBody(stmts: readonly Stmt[], head: number, spill: string, length: number): Split | undefined {
  if (length <= SPLIT_FROM) return undefined;
  const last = stmts[stmts.length - 1];
  const tail = last.k === "return" ? [last] : [];
  const headStmts = stmts.slice(0, head);
  const parts = groups(stmts.slice(head, stmts.length - tail.length));
  if (parts.length < 2) return undefined;
  const decls = new Map<string, { decl: Decl; part: number }>();
  headStmts.forEach((s) => s.k === "decl" && decls.set(s.name, { decl: s, part: -1 }));
  parts.forEach((p, i) => p.forEach((s) => s.k === "decl" && decls.set(s.name, { decl: s, part: i })));
  const uses = [...parts, tail].map((p) => namesIn(p));
  const writes = parts.map((p) => assignedIn(p));
  const slots = new Map<string, number>();
  const slot = (name: string) => {
    if (!slots.has(name)) slots.set(name, slots.size);
    return slots.get(name)!;
  };
  // a computed value read after its part: spilled at the end of every part that sets it
  const spilled = (name: string, i: number) => {
    const d = decls.get(name);
    return d !== undefined && d.part >= 0 && !isLoad(d.decl) && uses.slice(i + 1).some((u) => u.has(name));
  };
  const checks = headStmts.filter((s) => s.k !== "decl" && s.k !== "comment");
  const prologue = (i: number, used: ReadonlySet<string>): Stmt[] => {
    const out: Stmt[] = [];
    for (const [name, d] of decls) {
      if (!used.has(name) || d.part === i) continue;
      if (d.part < i && (d.part < 0 || isLoad(d.decl))) out.push(d.decl);
      else if (d.part >= 0 && d.part < i)
        out.push(decl(writes[i]?.has(name) ? "let" : "const", name, index(id(spill), num(slot(name)))));
    }
    return out;
  };
  const bodies = parts.map((p, i) => {
    const used = new Set(uses[i]);
    if (i === 0) for (const n of namesIn(checks)) used.add(n);
    const spills = [...new Set([...p.flatMap((s) => (s.k === "decl" ? [s.name] : [])), ...writes[i]])]
      .filter((n) => spilled(n, i))
      .map((n) => assign(index(id(spill), num(slot(n))), id(n)));
    return [...prologue(i, used), ...(i === 0 ? checks : []), ...p, ...spills];
  });
  const main = [...prologue(parts.length, uses[parts.length]), ...tail];
  return { main, parts: bodies, spills: slots.size };
}
