import { InternalError } from "../diagnostics/internal.js";
import { broadcastShapes, sameShape, scalar, showShape, type Shape } from "../shape/shape.js";
import { attrsMismatch, attrsText, nodeKey, type Attrs } from "../ops/attrs.js";
import type { Graph, Node, Origin } from "./graph.js";
import { isOp, opInfo, ops, type Op } from "../ops/index.js";

export interface NodeAttrs {
  value?: number;
  name?: string;
  target?: Shape;
  attrs?: Attrs;
}

type MutableNode = { -readonly [K in keyof Node]: Node[K] };

const key = nodeKey;

/**
 * Builds a graph node by node. Every node is hash-consed: asking twice for the same op on the
 * same operands returns the first node (common subexpressions are shared for free).
 */
export class Builder {
  private readonly list: MutableNode[] = [];
  private readonly table = new Map<string, number>();

  constructor(seed?: readonly Node[]) {
    for (const n of seed ?? []) {
      const copy: MutableNode = { ...n };
      this.list.push(copy);
      this.table.set(key(n.op, n.args, n), n.id);
    }
  }

  get nodes(): readonly Node[] {
    return this.list;
  }

  shape(id: number): Shape {
    return this.list[id].shape;
  }

  node(op: Op, args: readonly number[], attrs: NodeAttrs = {}): number {
    const k = key(op, args, attrs);
    const found = this.table.get(k);
    if (found !== undefined) return found;
    if (!isOp(op)) throw new InternalError(`'${op}' is not an IR op`);
    const info = opInfo(op);
    if (info.args.length !== args.length)
      throw new InternalError(`${op} takes ${info.args.length} operands, got ${args.length}`);
    const wrongAttrs = attrsMismatch(info.attrs, attrs.attrs);
    if (wrongAttrs) throw new InternalError(`${op}: ${wrongAttrs}`);
    for (const a of args)
      if (a < 0 || a >= this.list.length) throw new InternalError(`${op}: operand %${a} does not exist`);
    let shape: Shape | undefined;
    if (info.kind === "leaf") shape = op === "const" ? scalar : attrs.target;
    else
      shape = info.shape(
        args.map((a) => this.list[a].shape),
        attrs.target,
        attrs.attrs,
      );
    if (!shape) {
      throw new InternalError(
        `${op} does not accept shapes ${args.map((a) => showShape(this.list[a].shape)).join(", ")}${attrs.target ? ` -> ${showShape(attrs.target)}` : ""} ${attrsText(attrs.attrs)}`,
      );
    }
    const id = this.list.length;
    const n: MutableNode = { id, op, args: [...args], shape };
    if (attrs.value !== undefined) n.value = attrs.value;
    if (attrs.name !== undefined) n.name = attrs.name;
    if (info.target) n.target = attrs.target;
    if (attrs.attrs !== undefined) n.attrs = attrs.attrs;
    this.list.push(n);
    this.table.set(k, id);
    return id;
  }

  leaf(op: "param" | "input", name: string, shape: Shape): number {
    const id = this.node(op, [], { name, target: shape });
    // the leaf's shape is its declared one, not a target attribute
    const n = this.list[id];
    if (n.target) delete n.target;
    return id;
  }

  constant(value: number): number {
    return this.node("const", [], { value });
  }

  /** x broadcast to `shape` (NumPy rules); x itself when it already has it. */
  broadcastTo(x: number, shape: Shape): number {
    return sameShape(this.shape(x), shape) ? x : this.node("broadcast", [x], { target: shape });
  }

  /** An elementwise op on operands of any broadcast-compatible shapes. */
  elementwise(op: Op, args: readonly number[]): number {
    if (ops[op].kind !== "elementwise") throw new InternalError(`${op} is not elementwise`);
    let shape: Shape = scalar;
    for (const a of args) {
      const b = broadcastShapes(shape, this.shape(a));
      if (!b)
        throw new InternalError(
          `${op}: shapes ${args.map((x) => showShape(this.shape(x))).join(", ")} do not broadcast`,
        );
      shape = b;
    }
    return this.node(
      op,
      args.map((a) => this.broadcastTo(a, shape)),
    );
  }

  /** First writer wins: a shared node keeps the name and source of its first use. */
  annotate(id: number, hint: string | undefined, origin: Origin | undefined): void {
    const n = this.list[id];
    if (n.op === "param" || n.op === "input" || n.op === "const") return;
    if (hint !== undefined && n.hint === undefined) n.hint = hint;
    if (origin !== undefined && n.origin === undefined) n.origin = origin;
  }

  finish(rest: Omit<Graph, "nodes">): Graph {
    return { ...rest, nodes: this.list.map((n) => Object.freeze({ ...n })) };
  }
}
