/**
 * A tiny TypeScript syntax tree for generated code: the emitter builds these nodes and one
 * printer turns them into text, inserting parentheses by precedence (never by string glue).
 */
export type Expr =
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "id"; readonly name: string }
  | { readonly k: "bin"; readonly op: BinOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: "un"; readonly op: "-" | "!"; readonly a: Expr }
  | { readonly k: "call"; readonly fn: Expr; readonly args: readonly Expr[] }
  | { readonly k: "cond"; readonly c: Expr; readonly t: Expr; readonly f: Expr }
  | { readonly k: "index"; readonly arr: Expr; readonly i: Expr }
  | { readonly k: "member"; readonly obj: Expr; readonly prop: string };

export type BinOp = "+" | "-" | "*" | "/" | "**" | "%" | ">" | ">=" | "<" | "<=" | "===" | "!==" | "|" | "||" | "&&";

export type Stmt =
  | {
      readonly k: "decl";
      readonly kind: "const" | "let";
      readonly name: string;
      readonly init: Expr;
      readonly comment?: string;
      /** a scalar argument's read (`const w = params.w`): consecutive ones print as one destructuring */
      readonly group?: true;
    }
  | { readonly k: "assign"; readonly target: Expr; readonly op: "=" | "+=" | "-=" | "*=" | "/="; readonly value: Expr }
  | {
      readonly k: "for";
      readonly v: string;
      readonly from: Expr;
      readonly to: Expr;
      readonly body: readonly Stmt[];
      readonly step?: number;
    }
  | { readonly k: "call"; readonly e: Expr }
  | { readonly k: "if-throw"; readonly cond: Expr; readonly error: string; readonly message: string }
  | { readonly k: "if"; readonly cond: Expr; readonly body: readonly Stmt[] }
  | { readonly k: "throw"; readonly error: string; readonly message: Expr }
  /** for (; v + size <= n; v += size) body: whole chunks of a batch */
  | { readonly k: "for-chunks"; readonly v: string; readonly size: number; readonly body: readonly Stmt[] }
  | { readonly k: "return"; readonly e: Expr }
  | { readonly k: "comment"; readonly text: string }
  /** a statement written as text by its maker (the argument checks of validate.ts) */
  | { readonly k: "raw"; readonly text: string }
  | { readonly k: "block"; readonly body: readonly Stmt[] };

// ---- builders ---------------------------------------------------------------------------
export const num = (v: number): Expr => ({ k: "num", v });
export const str = (v: string): Expr => ({ k: "str", v });
export const id = (name: string): Expr => ({ k: "id", name });
export const call = (fn: string | Expr, ...args: Expr[]): Expr => ({
  k: "call",
  fn: typeof fn === "string" ? id(fn) : fn,
  args,
});
export const cond = (c: Expr, t: Expr, f: Expr): Expr => ({ k: "cond", c, t, f });
export const neg = (a: Expr): Expr => (a.k === "num" ? num(-a.v) : { k: "un", op: "-", a });
export const member = (obj: Expr, prop: string): Expr => ({ k: "member", obj, prop });
export const bin = (op: BinOp, a: Expr, b: Expr): Expr => ({ k: "bin", op, a, b });

/** Integer index arithmetic, folded as it is built: i*1 -> i, i*0 -> 0, i+0 -> i. */
export function iadd(a: Expr, b: Expr): Expr {
  if (a.k === "num" && b.k === "num") return num(a.v + b.v);
  if (a.k === "num" && a.v === 0) return b;
  if (b.k === "num" && b.v === 0) return a;
  return bin("+", a, b);
}
export function imul(a: Expr, b: Expr): Expr {
  if (a.k === "num" && b.k === "num") return num(a.v * b.v);
  if ((a.k === "num" && a.v === 0) || (b.k === "num" && b.v === 0)) return num(0);
  if (a.k === "num" && a.v === 1) return b;
  if (b.k === "num" && b.v === 1) return a;
  return bin("*", a, b);
}
export function index(arr: Expr, i: Expr): Expr {
  return { k: "index", arr, i };
}

export const decl = (kind: "const" | "let", name: string, init: Expr, comment?: string): Stmt => ({
  k: "decl",
  kind,
  name,
  init,
  ...(comment ? { comment } : {}),
});
export const assign = (target: Expr, value: Expr, op: "=" | "+=" | "-=" | "*=" | "/=" = "="): Stmt => ({
  k: "assign",
  target,
  op,
  value,
});
export const loop = (v: string, to: Expr, body: readonly Stmt[], from: Expr = num(0)): Stmt => ({
  k: "for",
  v,
  from,
  to,
  body,
});

/** `obj.name`, or `obj["name"]` for a name that is not an identifier (or is __proto__), as printed code */
export function memberText(obj: string, name: string): string {
  return isIdentifier(name) && name !== "__proto__" ? `${obj}.${name}` : `${obj}[${JSON.stringify(name)}]`;
}

// ---- printer ------------------------------------------------------------------------------
const precedence: Record<BinOp, number> = {
  "||": 3,
  "&&": 4,
  "|": 6,
  "===": 8,
  "!==": 8,
  ">": 9,
  ">=": 9,
  "<": 9,
  "<=": 9,
  "+": 11,
  "-": 11,
  "*": 12,
  "/": 12,
  "%": 12,
  "**": 13,
};
const UNARY = 14;
const POSTFIX = 17;

function isIdentifier(s: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
}

export function printNumber(v: number): string {
  if (Object.is(v, -0)) return "-0";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return String(v);
}

const multiplicative = (op: BinOp) => op === "*" || op === "/" || op === "%";
const equality = (op: BinOp) => op === "===" || op === "!==";

/**
 * Parentheses prettier writes around a binary operand although precedence does not need them
 * (prettier's needs-parens and shouldFlatten): a * b / c is (a * b) / c, a % b % c is
 * (a % b) % c, a % b + c is (a % b) + c, and any operand of | that is itself an operation.
 */
function clarityParens(parent: BinOp, child: BinOp): boolean {
  if (parent === "|") return true;
  if (child === "%" && (parent === "+" || parent === "-")) return true;
  if (precedence[parent] !== precedence[child]) return false;
  if (parent === "**" || (equality(parent) && equality(child))) return true;
  return multiplicative(parent) && multiplicative(child) && (parent !== child || parent === "%");
}

function prec(e: Expr): number {
  switch (e.k) {
    case "num":
      return e.v < 0 || Object.is(e.v, -0) ? UNARY : POSTFIX + 1;
    case "id":
    case "str":
      return POSTFIX + 1;
    case "bin":
      return precedence[e.op];
    case "un":
      return UNARY;
    case "cond":
      return 2;
    default:
      return POSTFIX;
  }
}

export function printExpr(e: Expr): string {
  const wrap = (x: Expr, min: number) => (prec(x) < min ? `(${printExpr(x)})` : printExpr(x));
  switch (e.k) {
    case "num":
      return printNumber(e.v);
    case "id":
      return e.name;
    case "str":
      return JSON.stringify(e.v);
    case "bin": {
      const p = precedence[e.op];
      if (e.op === "**") {
        // ** is right-associative and its base may not be a bare unary expression
        return `${wrap(e.a, UNARY + 1)} ** ${wrap(e.b, p)}`;
      }
      // the parentheses prettier adds for clarity, so that formatting leaves the line as it is
      const side = (x: Expr, min: number) =>
        prec(x) >= min && x.k === "bin" && clarityParens(e.op, x.op) ? `(${printExpr(x)})` : wrap(x, min);
      return `${side(e.a, p)} ${e.op} ${side(e.b, p + 1)}`;
    }
    case "un":
      return `${e.op}${wrap(e.a, UNARY)}`.replace(/^--/, "- -");
    case "call":
      return `${wrap(e.fn, POSTFIX)}(${e.args.map(printExpr).join(", ")})`;
    case "cond":
      return `${wrap(e.c, 3)} ? ${wrap(e.t, 2)} : ${wrap(e.f, 2)}`;
    case "index":
      return `${wrap(e.arr, POSTFIX)}[${printExpr(e.i)}]`;
    case "member":
      return isIdentifier(e.prop) && e.prop !== "__proto__"
        ? `${wrap(e.obj, POSTFIX)}.${e.prop}`
        : `${wrap(e.obj, POSTFIX)}[${JSON.stringify(e.prop)}]`;
  }
}

/** A single-line comment that cannot end early or break out of the line. */
export function safeComment(text: string): string {
  return text
    .replace(/[\r\n\u2028\u2029]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * prettier's print width less the function body's indent (bodies are printed flush and indented
 * when placed in their function): a destructuring of grouped reads is cut into statements that
 * fit it, which prettier leaves alone
 */
const GROUP_WIDTH = 118;

type Decl = Extract<Stmt, { k: "decl" }>;
/** a grouped read's object and property: `const w = params.w` */
const groupedRead = (s: Stmt): { obj: string; prop: string } | undefined =>
  s.k === "decl" && s.group && s.kind === "const" && s.init.k === "member" && s.init.obj.k === "id"
    ? { obj: s.init.obj.name, prop: s.init.prop }
    : undefined;

/**
 * Consecutive grouped reads of one object as destructurings, `const { w_1, b_1, w_2 } = params;`,
 * each as long as fits on a line: a hundred scalar params in nine lines, not a hundred.
 */
function printGroup(run: readonly Decl[], obj: string, indent: string): string[] {
  const items = run.map((d) => {
    const { prop } = groupedRead(d)!;
    const key = isIdentifier(prop) && prop !== "__proto__" ? prop : JSON.stringify(prop);
    return key === d.name ? key : `${key}: ${d.name}`;
  });
  const line = (names: readonly string[]) => `${indent}const { ${names.join(", ")} } = ${obj};`;
  const out: string[][] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && line([...last, item]).length <= GROUP_WIDTH) last.push(item);
    else out.push([item]);
  }
  return out.map(line);
}

export function printStmts(stmts: readonly Stmt[], indent = ""): string[] {
  const out: string[] = [];
  for (let i = 0; i < stmts.length; i++) {
    const s = stmts[i];
    const read = groupedRead(s);
    if (read) {
      let j = i + 1;
      while (j < stmts.length && groupedRead(stmts[j])?.obj === read.obj) j++;
      if (j - i >= 2) {
        out.push(...printGroup(stmts.slice(i, j) as Decl[], read.obj, indent));
        i = j - 1;
        continue;
      }
    }
    switch (s.k) {
      case "decl":
        out.push(
          `${indent}${s.kind} ${s.name} = ${printExpr(s.init)};${s.comment ? ` // ${safeComment(s.comment)}` : ""}`,
        );
        break;
      case "assign":
        out.push(`${indent}${printExpr(s.target)} ${s.op} ${printExpr(s.value)};`);
        break;
      case "for":
        out.push(
          `${indent}for (let ${s.v} = ${printExpr(s.from)}; ${s.v} < ${printExpr(s.to)}; ${s.v}${s.step && s.step !== 1 ? ` += ${s.step}` : "++"}) {`,
        );
        out.push(...printStmts(s.body, indent + "  "));
        out.push(`${indent}}`);
        break;
      case "call":
        out.push(`${indent}${printExpr(s.e)};`);
        break;
      case "if-throw":
        out.push(`${indent}if (${printExpr(s.cond)}) throw new ${s.error}(${JSON.stringify(s.message)});`);
        break;
      case "throw":
        out.push(`${indent}throw new ${s.error}(${printExpr(s.message)});`);
        break;
      case "for-chunks":
        out.push(
          `${indent}for (; ${s.v} + ${s.size} <= n; ${s.v} += ${s.size}) {`,
          ...printStmts(s.body, indent + "  "),
          `${indent}}`,
        );
        break;
      case "if":
        out.push(`${indent}if (${printExpr(s.cond)}) {`, ...printStmts(s.body, indent + "  "), `${indent}}`);
        break;
      case "return":
        out.push(`${indent}return ${printExpr(s.e)};`);
        break;
      case "comment":
        out.push(`${indent}// ${safeComment(s.text)}`);
        break;
      case "raw":
        out.push(...s.text.split("\n").map((line) => `${indent}${line}`));
        break;
      case "block":
        out.push(`${indent}{`, ...printStmts(s.body, indent + "  "), `${indent}}`);
        break;
    }
  }
  return out;
}
