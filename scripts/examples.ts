import { existsSync, readdirSync } from "node:fs";

/**
 * The shipped examples, compiled to generated/<name>.ts: examples/<name>.grad, and
 * examples/<name>/model.grad for an example with more files (examples/iris/).
 */
export function examples(): { name: string; source: string }[] {
  const top = readdirSync("examples")
    .filter((f) => f.endsWith(".grad"))
    .map((f) => ({ name: f.slice(0, -".grad".length), source: `examples/${f}` }));
  const nested = readdirSync("examples", { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`examples/${d.name}/model.grad`))
    .map((d) => ({ name: d.name, source: `examples/${d.name}/model.grad` }));
  return [...top, ...nested].sort((a, b) => a.name.localeCompare(b.name));
}

export function generatedPath(name: string): string {
  return `generated/${name}.ts`;
}
