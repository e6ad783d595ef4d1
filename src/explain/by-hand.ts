import type { Graph } from "../ir/graph.js";
import { attentionEquations, attentionLayers, checkAttention } from "./attention.js";
import { checkConv, convEquations, convLayers, type LayerEquation } from "./layers.js";
import { checkNorm, normEquations, normLayers } from "./norms.js";
import { checkPool, poolEquations, poolLayers } from "./pooling.js";
import type { Symbols } from "./view.js";

/** a check's reading of the point: each node's value, and its adjoint where the sweep has one */
type Value = (id: number) => Float64Array;
type Adjoint = (id: number) => Float64Array | undefined;

/**
 * One layer a derivation writes by hand, found in the graph: where it ends (its result's node,
 * for the model's order), its lines, and the check of them against the sweep's numbers.
 */
export interface HandLayer {
  readonly at: number;
  equations(sy: Symbols, hasAdjoint: (id: number) => boolean): LayerEquation[];
  check(value: Value, adjoint: Adjoint, where: string, strict: boolean): void;
}

/** a kind of layer: how it is found, how it ends, how it is written and checked */
interface Kind<L> {
  find(g: Graph): L[];
  end(l: L): number;
  equations(l: L, sy: Symbols, hasAdjoint: (id: number) => boolean): LayerEquation[];
  check(l: L, value: Value, adjoint: Adjoint, where: string, strict: boolean): void;
}

const kind =
  <L>(k: Kind<L>) =>
  (g: Graph) =>
    k.find(g).map((l): HandLayer => ({
      at: k.end(l),
      equations: (sy, hasAdjoint) => k.equations(l, sy, hasAdjoint),
      check: (value, adjoint, where, strict) => k.check(l, value, adjoint, where, strict),
    }));

/** every kind the derivation writes by hand: convolutions, normalizations, pools, attentions */
const kinds = [
  kind({ find: convLayers, end: (l) => l.out.id, equations: convEquations, check: checkConv }),
  kind({ find: normLayers, end: (l) => l.out.id, equations: normEquations, check: checkNorm }),
  kind({ find: poolLayers, end: (l) => l.out.id, equations: poolEquations, check: checkPool }),
  kind({ find: attentionLayers, end: (l) => l.O.id, equations: attentionEquations, check: checkAttention }),
];

/** The layers of a graph that a derivation writes by hand, in the order the model computes them. */
export function handLayers(g: Graph): HandLayer[] {
  return kinds.flatMap((find) => find(g)).sort((a, b) => a.at - b.at);
}
