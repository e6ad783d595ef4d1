import { userRecord, type Values } from "../eval/evaluate.js";
import type { Graph } from "../ir/graph.js";
import { integerBounds } from "../ir/integers.js";
import { size } from "../shape/shape.js";
import { uniform01 } from "../util/random.js";
import { PointError } from "./errors.js";

export { PointError };

/** One seeded uniform draw in [-1, 1) per element, for `--at random[:seed]`. */
function uniform(seed: number): () => number {
  const u = uniform01(seed);
  return () => u() * 2 - 1;
}

/**
 * Parse `w=0.5,b=-1,x=2,y=1` (vectors as `v=[1,2,3]`, matrices row-major) or `random[:seed]`
 * into values for every param and input of the graph.
 */
export function parsePoint(spec: string, g: Graph): { params: Values; inputs: Values } {
  const leaves = [
    ...g.params.map((l) => ({ ...l, role: "params" as const })),
    ...g.inputs.map((l) => ({ ...l, role: "inputs" as const })),
  ];
  const out = { params: userRecord<number | Float64Array>(), inputs: userRecord<number | Float64Array>() };
  const random = /^random(?::(\d+))?$/.exec(spec.trim());
  const bounds = integerBounds(g);
  if (random) {
    const next = uniform(Number(random[1] ?? 1));
    for (const l of leaves) {
      // integer inputs: uniform over their valid values (0..bound-1)
      const draw = l.int ? () => Math.floor(((next() + 1) / 2) * (bounds.get(l.name) ?? 5)) : next;
      out[l.role][l.name] = l.shape.length === 0 ? draw() : Float64Array.from({ length: size(l.shape) }, draw);
    }
    return out;
  }
  const given = new Map<string, number[]>();
  for (const part of spec.match(/[^,=\s]+\s*=\s*(\[[^\]]*\]|[^,]+)/g) ?? []) {
    const [name, raw] = part.split(/=(.*)/s).map((s) => s.trim());
    const nums = raw
      .replace(/^\[|\]$/g, "")
      .split(/[,\s]+/)
      .filter(Boolean)
      .map(Number);
    if (nums.some((v) => !Number.isFinite(v))) throw new PointError("E501", { raw });
    given.set(name, nums);
  }
  if (given.size === 0) throw new PointError("E502");
  for (const name of given.keys())
    if (!leaves.some((l) => l.name === name))
      throw new PointError("E503", { name, names: leaves.map((l) => l.name).join(", ") });
  const missing = leaves.filter((l) => !given.has(l.name)).map((l) => l.name);
  if (missing.length) throw new PointError("E504", { names: missing.join(", ") });
  for (const l of leaves) {
    const v = given.get(l.name)!;
    if (v.length !== size(l.shape))
      throw new PointError("E505", {
        name: l.name,
        count: `${size(l.shape)} value${size(l.shape) === 1 ? "" : "s"}`,
        got: v.length,
      });
    const bound = bounds.get(l.name);
    if (l.int && v.some((x) => !Number.isInteger(x) || x < 0 || (bound !== undefined && x >= bound))) {
      throw new PointError("E506", { name: l.name, last: bound === undefined ? "…" : bound - 1 });
    }
    out[l.role][l.name] = l.shape.length === 0 ? v[0] : Float64Array.from(v);
  }
  return out;
}
