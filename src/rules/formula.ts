import { parse, type MathNode } from "mathjs";
import { InternalError } from "../diagnostics/error.js";
import type { Builder } from "../ir/build.js";
import { isOp, opInfo, ops, type Op } from "../ir/ops.js";
import { rules } from "./table.js";

/** mathjs operator function -> IR op. */
const operatorOps: Readonly<Record<string, Op>> = {
  add: "add",
  subtract: "sub",
  multiply: "mul",
  divide: "div",
  pow: "pow",
  unaryMinus: "neg",
};

/** Formula-only functions that take their result shape from a reference operand. */
const shaping = {
  expand: "broadcast",
  rowexpand: "rowbcast",
  reduce_to: "reduce_to",
} as const;

export type RuleOp = keyof typeof rules;

export interface ParsedRule {
  readonly forward?: MathNode;
  readonly grads: readonly (MathNode | null)[];
}

function strip(n: MathNode): MathNode {
  return n.type === "ParenthesisNode" ? strip((n as unknown as { content: MathNode }).content) : n;
}

function isZero(n: MathNode): boolean {
  const s = strip(n);
  return s.type === "ConstantNode" && Number((s as unknown as { value: unknown }).value) === 0;
}

/** Check a formula names only the op's operands, y, g and known functions. */
function validate(op: string, what: string, n: MathNode, symbols: ReadonlySet<string>, forward: boolean): void {
  n.traverse((node, _path, parent) => {
    if (node.type === "SymbolNode") {
      const name = (node as unknown as { name: string }).name;
      const isCallee = parent?.type === "FunctionNode" && (parent as unknown as { fn: MathNode }).fn === node;
      if (!isCallee && !symbols.has(name)) throw new InternalError(`rule ${op}.${what}: unknown symbol '${name}'`);
    }
    if (node.type === "FunctionNode" && !forward) {
      const fn = (node as unknown as { fn: { name: string }; args: MathNode[] }).fn.name;
      const args = (node as unknown as { args: MathNode[] }).args;
      if (fn in shaping) {
        if (args.length !== 2) throw new InternalError(`rule ${op}.${what}: ${fn} takes (value, reference)`);
      } else if (!isOp(fn)) {
        throw new InternalError(`rule ${op}.${what}: '${fn}' is not an IR op`);
      } else if (opInfo(fn).args.length !== args.length) {
        throw new InternalError(`rule ${op}.${what}: ${fn} takes ${opInfo(fn).args.length} operands`);
      }
    }
    if (node.type === "OperatorNode" && !forward) {
      const fn = (node as unknown as { fn: string }).fn;
      if (!(fn in operatorOps)) throw new InternalError(`rule ${op}.${what}: operator '${fn}' has no IR op`);
    }
  });
}

function load(): Readonly<Record<RuleOp, ParsedRule>> {
  const out = {} as Record<RuleOp, ParsedRule>;
  for (const [op, rule] of Object.entries(rules) as [RuleOp, (typeof rules)[RuleOp]][]) {
    const info = ops[op];
    if (rule.grads.length !== info.args.length) throw new InternalError(`rule ${op}: ${info.args.length} operands but ${rule.grads.length} grads`);
    if ((info.kind === "elementwise") !== (rule.forward !== undefined)) throw new InternalError(`rule ${op}: forward formulas are for elementwise ops only`);
    const symbols = new Set([...info.args, "y", "g"]);
    const forward = rule.forward === undefined ? undefined : parse(rule.forward);
    if (forward) validate(op, "forward", forward, new Set(info.args), true);
    const grads = rule.grads.map((text, i) => {
      const n = parse(text);
      validate(op, `grads[${info.args[i]}]`, n, symbols, false);
      return isZero(n) ? null : n;
    });
    out[op] = { ...(forward ? { forward } : {}), grads };
  }
  return out;
}

/** The rule table, parsed and validated once at load. */
export const parsedRules: Readonly<Record<RuleOp, ParsedRule>> = load();

export function ruleFor(op: Op): ParsedRule {
  const r = (parsedRules as Record<string, ParsedRule | undefined>)[op];
  if (!r) throw new InternalError(`no derivative rule for op '${op}'`);
  return r;
}

/**
 * Build IR nodes for a formula, with its symbols bound to node ids. Elementwise arithmetic
 * broadcasts like the language does. Returns null for a formula that is identically zero.
 */
export function instantiate(b: Builder, formula: MathNode, env: Readonly<Record<string, number>>): number | null {
  const go = (n: MathNode): number => {
    switch (n.type) {
      case "ParenthesisNode":
        return go((n as unknown as { content: MathNode }).content);
      case "ConstantNode":
        return b.constant(Number((n as unknown as { value: unknown }).value));
      case "SymbolNode": {
        const id = env[(n as unknown as { name: string }).name];
        if (id === undefined) throw new InternalError(`formula symbol '${(n as unknown as { name: string }).name}' is unbound`);
        return id;
      }
      case "OperatorNode": {
        const { fn, args } = n as unknown as { fn: string; args: MathNode[] };
        return b.elementwise(operatorOps[fn], args.map(go));
      }
      case "FunctionNode": {
        const { fn, args } = n as unknown as { fn: { name: string }; args: MathNode[] };
        const name = fn.name;
        if (name in shaping) {
          const v = go(args[0]);
          const target = b.shape(go(args[1]));
          const op = shaping[name as keyof typeof shaping];
          // reducing or broadcasting to the shape it already has is the identity
          if (b.shape(v).length === target.length && b.shape(v).every((d, i) => d === target[i])) return v;
          return b.node(op, [v], { target });
        }
        const op = name as Op;
        const ids = args.map(go);
        return ops[op].kind === "elementwise" ? b.elementwise(op, ids) : b.node(op, ids);
      }
      default:
        throw new InternalError(`formula node ${n.type} is not supported`);
    }
  };
  const id = go(formula);
  const node = b.nodes[id];
  return node.op === "const" && node.value === 0 ? null : id;
}
