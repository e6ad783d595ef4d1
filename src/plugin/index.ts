import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative, sep } from "node:path";
import { createUnplugin, type UnpluginInstance } from "unplugin";
import { compile, CompileError, renderDiagnostics, type Dtype } from "../index.js";
import { declarations, toJavaScript } from "../emit/ts/javascript.js";

export interface GradcPluginOptions {
  readonly dtype?: Dtype;
  /** "wasm": batchGradients runs its matrix products as WebAssembly SIMD kernels (default "ts") */
  readonly target?: "ts" | "wasm";
  /** write `model.grad.d.ts` beside each imported model, so `import ... from "./model.grad"` is typed (default true) */
  readonly dts?: boolean;
}

/**
 * `import { gradients } from "./mlp.grad"` in Vite, Rollup, esbuild and webpack: the model is
 * compiled when it is loaded, and a compile error fails the build with file:line:col.
 */
export const gradc: UnpluginInstance<GradcPluginOptions | undefined> = createUnplugin((options = {}) => ({
  name: "gradc",
  enforce: "pre",
  loadInclude: (id) => id.endsWith(".grad"),
  async load(id) {
    const text = readFileSync(id, "utf8");
    const name = relative(process.cwd(), id).split(sep).join("/");
    try {
      const r = await compile(text, { filename: name, dtype: options.dtype ?? "f64", target: options.target ?? "ts" });
      if (options.dts !== false) {
        const dts = `${id}.d.ts`;
        const content = declarations(r.typescript);
        if (!existsSync(dts) || readFileSync(dts, "utf8") !== content) writeFileSync(dts, content);
      }
      return { code: toJavaScript(r.typescript) };
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      const first = e.diagnostics.find((d) => d.severity === "error")!;
      const before = text.slice(0, first.span.start);
      const line = before.split("\n").length;
      const column = first.span.start - before.lastIndexOf("\n") - 1;
      const err = new Error(`gradc: ${name} has errors\n${renderDiagnostics(e.diagnostics, text)}`) as Error & {
        id?: string;
        loc?: object;
      };
      err.id = id;
      err.loc = { file: id, line, column };
      throw err;
    }
  },
  esbuild: { loader: "js" },
}));

export const vite = gradc.vite;
export const rollup = gradc.rollup;
export const esbuild = gradc.esbuild;
export const webpack = gradc.webpack;
export default gradc;
