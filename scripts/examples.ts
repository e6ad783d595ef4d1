import { readdirSync } from "node:fs";

/** The shipped examples: examples/<name>.grad, compiled to generated/<name>.ts. */
export function examples(): { name: string; source: string }[] {
  return readdirSync("examples")
    .filter((f) => f.endsWith(".grad"))
    .sort()
    .map((f) => ({ name: f.slice(0, -".grad".length), source: `examples/${f}` }));
}

export function generatedPath(name: string): string {
  return `generated/${name}.ts`;
}
