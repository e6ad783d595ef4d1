import type { Graph } from "../ir/graph.js";
import { size } from "../shape/shape.js";
import { opInfo } from "../ops/index.js";

export type Value = number | Float64Array | readonly number[];
export type Values = Readonly<Record<string, Value>>;

/**
 * A record keyed by user names: no prototype, so `__proto__`, `constructor` or `toString` are
 * keys like any other (on a plain object, setting `__proto__` sets the prototype instead).
 */
export function userRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** values[name], only if it is the record's own entry */
function own(values: Values, name: string): Value | undefined {
  return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
}

function asArray(v: Value | undefined, n: number, name: string): Float64Array {
  if (v === undefined) throw new Error(`missing value for '${name}'`);
  const a = typeof v === "number" ? Float64Array.of(v) : Float64Array.from(v);
  if (a.length !== n) throw new Error(`'${name}' has ${a.length} elements, expected ${n}`);
  return a;
}

/** Evaluate every node of a graph; returns each node's value (Float64Array, scalars length 1). */
export function evaluateNodes(g: Graph, params: Values, inputs: Values): Float64Array[] {
  const values: Float64Array[] = [];
  const leaf = new Map<number, Float64Array>();
  for (const l of g.params) leaf.set(l.node, asArray(own(params, l.name), size(l.shape), l.name));
  for (const l of g.inputs) leaf.set(l.node, asArray(own(inputs, l.name), size(l.shape), l.name));
  for (const n of g.nodes) {
    if (n.op === "const") values.push(Float64Array.of(n.value!));
    else if (n.op === "param" || n.op === "input") values.push(leaf.get(n.id)!);
    else {
      const def = opInfo(n.op);
      if (def.kind === "leaf") throw new Error(`leaf op ${n.op}`);
      values.push(
        def.evaluate(
          n,
          n.args.map((a) => values[a]),
          n.args.map((a) => g.nodes[a].shape),
        ),
      );
    }
  }
  return values;
}

/** The reference evaluator: loss and gradients (scalars as numbers) of a differentiated graph. */
export function evaluate(
  g: Graph,
  params: Values,
  inputs: Values,
): { loss: number; grads: Record<string, number | Float64Array> } {
  const v = evaluateNodes(g, params, inputs);
  const grads = userRecord<number | Float64Array>();
  for (const o of g.grads) {
    const p = g.params.find((x) => x.name === o.param)!;
    grads[o.param] = p.shape.length === 0 ? v[o.node][0] : v[o.node];
  }
  return { loss: v[g.loss][0], grads };
}
