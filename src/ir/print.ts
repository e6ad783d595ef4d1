import { showShape } from "../shape/shape.js";
import { attrsText } from "../ops/attrs.js";
import type { Graph } from "./graph.js";
import { noteOf } from "../util/text.js";

function fmt(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

/**
 * A stable text dump, one node a line, for golden tests and `gradc compile --emit ir`:
 *   %4 = mul %0 %1 : scalar    # w*x
 */
export function printGraph(g: Graph): string {
  const lines = [`# gradc ir: ${g.file}`];
  for (const n of g.nodes) {
    let rhs: string;
    if (n.op === "const") rhs = `const ${fmt(n.value!)}`;
    else if (n.op === "param" || n.op === "input") rhs = `${n.op} ${n.name}`;
    else
      rhs =
        [n.op, ...n.args.map((a) => `%${a}`)].join(" ") +
        (n.attrs ? ` {${attrsText(n.attrs)}}` : "") +
        (n.target ? ` -> ${showShape(n.target)}` : "");
    let line = `%${n.id} = ${rhs} : ${showShape(n.shape)}`;
    const note = [n.hint, n.origin ? noteOf(n.origin) : undefined].filter(Boolean).join(": ");
    if (note) line = `${line.padEnd(48)} # ${note}`;
    lines.push(line);
  }
  lines.push(`loss = %${g.loss}`);
  for (const o of g.grads) lines.push(`grad ${o.param} = %${o.node}`);
  return lines.join("\n") + "\n";
}
