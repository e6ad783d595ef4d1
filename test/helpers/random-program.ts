import { rng } from "./module.js";

/**
 * Random well-typed .grad programs: a DAG of assignments over every op, with fan-out (values
 * are reused), broadcasting and all matmul forms. Arguments are wrapped so values stay in
 * the domain and bounded (log(x^2 + 1), exp(tanh(x)), ...), which keeps finite differences
 * meaningful.
 */
interface Var {
  readonly name: string;
  readonly shape: readonly number[];
}

const key = (s: readonly number[]) => s.join("x");

/** `batchable`: no matrix input, so the program has a batched form (batchGradients' chunks, the wasm kernels) */
export function randomProgram(seed: number, opts: { readonly batchable?: boolean } = {}): string {
  const next = rng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const m = 2 + int(2);
  const n = 2 + int(3);
  const lines: string[] = [];
  const vars: Var[] = [];
  const decl = (role: string, name: string, shape: number[]) => {
    lines.push(`${role} ${name}${shape.length ? `[${shape.join(", ")}]` : ""}`);
    vars.push({ name, shape });
  };
  decl("param", "p", []);
  decl("param", "v", [n]);
  decl("param", "M", [m, n]);
  if (next() < 0.5) decl("param", "N", [n, m]);
  decl("input", "s", []);
  decl("input", "x", [n]);
  if (!opts.batchable) decl("input", "X", [m, n]);
  const inputs = new Set(["s", "x", "X"]);

  const broadcastable = (a: Var, b: Var) => {
    const r = Math.max(a.shape.length, b.shape.length);
    for (let k = 0; k < r; k++) {
      const da = a.shape[a.shape.length - r + k] ?? 1;
      const db = b.shape[b.shape.length - r + k] ?? 1;
      if (da !== db && da !== 1 && db !== 1) return false;
    }
    return true;
  };
  const unary: ((x: string) => string)[] = [
    (x) => `exp(tanh(${x}))`,
    (x) => `log(${x}^2 + 1)`,
    (x) => `sqrt(${x}^2 + 0.5)`,
    (x) => `abs(${x})`,
    (x) => `sin(${x})`,
    (x) => `cos(${x})`,
    (x) => `tan(tanh(${x}))`,
    (x) => `tanh(${x})`,
    (x) => `sigmoid(${x})`,
    (x) => `relu(${x})`,
    (x) => `softplus(${x})`,
    (x) => `-${x}`,
    (x) => `${x}'`,
  ];
  const binary: ((a: string, b: string) => string)[] = [
    (a, b) => `${a} + ${b}`,
    (a, b) => `${a} - ${b}`,
    (a, b) => `${a} * ${b}`,
    (a, b) => `${a} / (${b}^2 + 1)`,
    (a, b) => `(${a}^2 + 1) ^ tanh(${b})`,
    (a, b) => `max(${a}, ${b})`,
    (a, b) => `min(${a}, ${b})`,
  ];
  const count = 3 + int(8);
  for (let i = 0; i < count; i++) {
    const a = pick(vars);
    const name = `t${i}`;
    let expr: string | undefined;
    let shape: readonly number[] = a.shape;
    const kind = int(6);
    if (kind <= 1) {
      const f = pick(unary);
      expr = f(a.name);
      if (expr.endsWith("'") && a.shape.length === 2) shape = [a.shape[1], a.shape[0]];
    } else if (kind === 2) {
      const bs = vars.filter((b) => broadcastable(a, b));
      const b = pick(bs);
      expr = pick(binary)(a.name, b.name);
      const r = Math.max(a.shape.length, b.shape.length);
      shape = Array.from({ length: r }, (_, k) =>
        Math.max(a.shape[a.shape.length - r + k] ?? 1, b.shape[b.shape.length - r + k] ?? 1),
      );
    } else if (kind === 3) {
      // matmul in any of its forms, transposing the left operand when that makes it fit
      const cands: [string, readonly number[]][] = [];
      for (const b of vars) {
        for (const [l, ls] of [
          [a.name, a.shape],
          [`${a.name}'`, a.shape.length === 2 ? [a.shape[1], a.shape[0]] : a.shape],
        ] as [string, readonly number[]][]) {
          if (ls.length === 0 || b.shape.length === 0) continue;
          if (ls[ls.length - 1] !== b.shape[0]) continue;
          const out =
            ls.length === 2 && b.shape.length === 1
              ? [ls[0]]
              : ls.length === 1 && b.shape.length === 2
                ? [b.shape[1]]
                : ls.length === 2
                  ? [ls[0], b.shape[1]]
                  : [];
          cands.push([`${l} @ ${b.name}`, out]);
        }
      }
      if (cands.length) [expr, shape] = pick(cands);
    } else if (kind === 4) {
      if (a.shape.length === 0) continue;
      const f = pick(["softmax", "log_softmax", "logsumexp", "sum", "mean"]);
      expr = `${f}(${a.name})`;
      shape = f === "softmax" || f === "log_softmax" ? a.shape : f === "logsumexp" ? a.shape.slice(0, -1) : [];
    } else {
      const same = vars.filter((b) => b !== a && key(b.shape) === key(a.shape));
      if (a.shape.length === 0 || !same.length) continue;
      const b = pick(same);
      if (a.shape.length === 1 && next() < 0.5) {
        expr = `dot(${a.name}, ${b.name})`;
        shape = [];
      } else {
        expr = `softmax_cross_entropy(${a.name}, ${b.name})`;
        shape = a.shape.slice(0, -1);
      }
    }
    if (!expr) continue;
    lines.push(`${name} = ${expr}`);
    vars.push({ name, shape });
  }
  // the loss: the last value and a few others, each reduced to a scalar
  const derived = vars.filter((v) => !inputs.has(v.name));
  const chosen = new Set([derived[derived.length - 1], ...derived.filter(() => next() < 0.4)]);
  const terms = [...chosen].map((v) => (v.shape.length === 0 ? v.name : `${next() < 0.5 ? "sum" : "mean"}(${v.name})`));
  lines.push(`loss = ${terms.join(" + ")}`);
  return lines.join("\n") + "\n";
}
