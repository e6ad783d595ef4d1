import { InternalError } from "../diagnostics/internal.js";
import { elementwise } from "./elementwise.js";
import { indexing } from "./indexing.js";
import { movement } from "./movement.js";
import { products } from "./products.js";
import { reduce } from "./reduce.js";
import { rowwise } from "./rowwise.js";
import { windows } from "./windows.js";
import type { ElementwiseDef, Kernel, KernelDef, LeafDef, OpDef, OpKind, ViewMap } from "./types.js";

export type * from "./types.js";

const leaf: LeafDef = { kind: "leaf", args: [], shape: () => undefined, attrs: [], target: false };

/**
 * The only list of IR ops: each entry is the op's whole definition (shape rule, attributes,
 * reference semantics, derivative, TeX, batching rule, FLOPs, emitter form; see types.ts), one
 * family per file. docs/architecture.md says how to add one.
 */
export const ops = {
  param: leaf,
  input: leaf,
  const: leaf,
  ...elementwise,
  ...movement,
  ...reduce,
  ...products,
  ...rowwise,
  ...indexing,
  ...windows,
} satisfies Record<string, OpDef>;

export type Op = keyof typeof ops;
/** The ops of one kind, from the definitions' literal kinds: tables over a kind are total by type. */
export type OpOfKind<K extends OpKind> = { [O in Op]: (typeof ops)[O]["kind"] extends K ? O : never }[Op];
/** Every op but the leaves: the ops with a derivative, an evaluator and a batching rule. */
export type ComputedOp = Exclude<Op, OpOfKind<"leaf">>;

export function isOp(name: string): name is Op {
  return Object.prototype.hasOwnProperty.call(ops, name);
}

/** The definition of an op; a name that is not one is a compiler bug. */
export function opInfo(op: string): OpDef {
  if (!isOp(op)) throw new InternalError(`'${op}' is not an IR op`);
  return ops[op];
}

/** The loop nest of a kernel op. */
export function kernelOf(op: Op): Kernel | undefined {
  const d: OpDef = ops[op];
  return d.kind === "kernel" ? d.emit : undefined;
}

/** The index map of a view op. */
export function viewOf(op: Op): ViewMap | undefined {
  const d: OpDef = ops[op];
  return d.kind === "view" ? d.view : undefined;
}

/** A kernel's definition, for its layout facts (final stores, form). */
export function kernelDef(op: Op): KernelDef | undefined {
  const d: OpDef = ops[op];
  return d.kind === "kernel" ? d : undefined;
}

/** The definition of an op that computes something (undefined for the leaves). */
export function computedDef(op: string): Exclude<OpDef, LeafDef> | undefined {
  const d = opInfo(op);
  return d.kind === "leaf" ? undefined : d;
}

/** An elementwise op's elementwise facts (prime, bound), undefined for other ops. */
export function elementwiseDef(op: string): ElementwiseDef | undefined {
  const d = opInfo(op);
  return d.kind === "elementwise" ? d : undefined;
}
