import { basename } from "node:path";
import type { Command } from "commander";
import { UserError } from "../../diagnostics/usage.js";
import type { Session } from "../session.js";
import { atOption, choice } from "./options.js";

export function registerExplain(program: Command, s: Session): void {
  program
    .command("explain")
    .description("write the worked backpropagation derivation of a model (lecture 4.6) as Markdown or LaTeX")
    .argument("<file>", ".grad source file")
    .option(
      "--at <point>",
      "evaluate every unit and gradient at a point: w=0.5,b=-1,x=2,y=1 (vectors v=[1,2]) or random[:seed]",
    )
    .option("--format <format>", "md or tex (default: from -o's extension, else md)", choice(["md", "tex"] as const))
    .option("-o, --out <file>", "output file; with .md, the graph picture is written beside it as .svg")
    .option("--digits <n>", "significant digits of the values table (default 6)")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc explain examples/lecture.grad --at w=0.5,b=-1,x=2,y=1\n  gradc explain examples/mlp.grad --format tex -o mlp.tex\n  gradc explain examples/lecture.grad -o lecture.md   # also writes lecture.svg",
    )
    .action((file: string, opts: { at?: string; format?: "md" | "tex"; out?: string; digits?: string }) => {
      const digits = opts.digits === undefined ? undefined : Number(opts.digits);
      if (digits !== undefined && !(Number.isInteger(digits) && digits >= 1 && digits <= 17))
        return s.fail(new UserError("E534", { value: opts.digits! }), 2);
      return s.guarded(file, async (text, name) => {
        const { explain } = await import("../../index.js");
        const format = opts.format ?? (opts.out?.endsWith(".tex") ? "tex" : "md");
        const svgPath = opts.out && format === "md" ? opts.out.replace(/(\.md)?$/, ".svg") : undefined;
        s.refuseInput(file, opts.out, svgPath);
        const svg = svgPath ? await pictureOf(text, name, opts.at, s) : undefined;
        const r = explain(text, {
          filename: name,
          format,
          ...atOption(opts.at),
          ...(svgPath && svg !== undefined ? { picture: basename(svgPath) } : {}),
          ...(digits !== undefined ? { digits } : {}),
        });
        if (svgPath && svg !== undefined) s.output(svgPath, svg, name);
        s.output(opts.out, r.text, name);
      });
    });
}

/** the graph picture beside a derivation; a graph too large to draw is said on stderr and left out */
async function pictureOf(text: string, name: string, at: string | undefined, s: Session): Promise<string | undefined> {
  const { graph, UserError } = await import("../../index.js");
  try {
    return await graph(text, { filename: name, format: "svg", ...atOption(at) });
  } catch (e) {
    if (!(e instanceof UserError) || e.code !== "E541") throw e;
    s.io.stderr(`gradc: ${e.message}\n`);
    return undefined;
  }
}

export function registerGraph(program: Command, s: Session): void {
  program
    .command("graph")
    .description("draw the computation graph (params, inputs, units u_k) as SVG or Graphviz DOT")
    .argument("<file>", ".grad source file")
    .option("--at <point>", "label every node with its value and gradient at a point (as for explain)")
    .option("--format <format>", "svg or dot (default: from -o's extension, else svg)", choice(["svg", "dot"] as const))
    .option("-o, --out <file>", "output file")
    .addHelpText(
      "after",
      "\nExamples:\n  gradc graph examples/lecture.grad -o lecture.svg\n  gradc graph examples/lecture.grad --at w=0.5,b=-1,x=2,y=1 --format dot",
    )
    .action((file: string, opts: { at?: string; format?: "svg" | "dot"; out?: string }) =>
      s.guarded(file, async (text, name) => {
        const { graph } = await import("../../index.js");
        const format = opts.format ?? (opts.out?.endsWith(".dot") ? "dot" : "svg");
        s.refuseInput(file, opts.out);
        s.output(opts.out, await graph(text, { filename: name, format, ...atOption(opts.at) }), name);
      }),
    );
}
