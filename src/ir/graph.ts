import type { Span } from "../source/span.js";
import type { Shape } from "../shape/shape.js";
import type { Attrs } from "../ops/attrs.js";
import type { Op } from "../ops/index.js";

/** Where a node came from in the source: the span and its text, for comments and explanations. */
export interface Origin {
  readonly span: Span;
  readonly text: string;
}

/**
 * One elementary unit u_k. Nodes are hash-consed (no two nodes have the same op, operands and
 * attributes) and numbered in creation order, so operands always come before their users.
 */
export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly args: readonly number[];
  readonly shape: Shape;
  /** const: its value */
  readonly value?: number;
  /** param/input: its name */
  readonly name?: string;
  /** ops that carry their result shape (broadcast, reshape, slice, pad, contract, ...): that shape */
  readonly target?: Shape;
  /** the generic primitives' static attributes (axes, perm, starts/steps, spec, axis) */
  readonly attrs?: Attrs;
  /** a readable name for emitters: the user's variable, or d_<name> for an adjoint */
  readonly hint?: string;
  readonly origin?: Origin;
}

export interface Leaf {
  readonly name: string;
  readonly shape: Shape;
  /** an `: int` input: integer data (indices, labels) */
  readonly int?: boolean;
  readonly node: number;
  readonly span: Span;
}

export interface GradOutput {
  readonly param: string;
  readonly node: number;
}

export interface Graph {
  readonly file: string;
  readonly nodes: readonly Node[];
  /** declaration order */
  readonly params: readonly Leaf[];
  readonly inputs: readonly Leaf[];
  readonly loss: number;
  /** one per param, declaration order; empty until differentiate() */
  readonly grads: readonly GradOutput[];
}

/** child sets S(u): for each node, the nodes that use it, ascending. */
export function children(g: Graph): number[][] {
  const s: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) for (const a of new Set(n.args)) s[a].push(n.id);
  return s;
}

/** Nodes reachable backwards from `roots`, as a membership array. */
export function reachable(g: Graph, roots: readonly number[]): boolean[] {
  const live = g.nodes.map(() => false);
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (live[id]) continue;
    live[id] = true;
    stack.push(...g.nodes[id].args);
  }
  return live;
}

export function outputs(g: Graph): number[] {
  return [g.loss, ...g.grads.map((o) => o.node)];
}

/** Activity analysis: which nodes depend on a param (only those get adjoints; no d/dx for inputs). */
export function dependsOnParams(g: Graph): boolean[] {
  const active = g.nodes.map(() => false);
  for (const node of g.nodes) active[node.id] = node.op === "param" || node.args.some((a) => active[a]);
  return active;
}

/** A view that swaps its source's last two axes: a transpose, or a permute that does only that (its rows are its source's columns). */
export function swapsLastTwoAxes(n: Node): boolean {
  if (n.op === "transpose") return true;
  if (n.op !== "permute") return false;
  const perm = n.attrs!.perm!;
  const r = perm.length;
  return perm.every((p, k) => p === (k === r - 2 ? r - 1 : k === r - 1 ? r - 2 : k));
}

/**
 * Where an operand's elements are in memory: the node behind a last-two-axes swap
 * (swapsLastTwoAxes) and behind reshapes (the same elements in the same order), and whether
 * the swap transposes them.
 */
export function storageOf(g: Graph, id: number): { readonly node: Node; readonly swapped: boolean } {
  let n = g.nodes[id];
  const swapped = swapsLastTwoAxes(n);
  if (swapped) n = g.nodes[n.args[0]];
  while (n.op === "reshape") n = g.nodes[n.args[0]];
  return { node: n, swapped };
}
