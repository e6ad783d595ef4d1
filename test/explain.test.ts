import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze, compile, explain, graph } from "../src/index.js";
import { derive } from "../src/explain/derive.js";
import { parsePoint } from "../src/explain/point.js";
import { main } from "../src/cli/main.js";
import { loadModule } from "./helpers/module.js";

const read = (name: string) => readFileSync(`examples/${name}.grad`, "utf8");
const lecture = () => derive(analyze(read("lecture"), { filename: "examples/lecture.grad" }));

describe("the lecture's 4.6.1 derivation, line by line", () => {
  const d = lecture();
  const line = (e: { lhs: string; steps: readonly string[] }) => `${e.lhs} = ${e.steps.join(" = ")}`;

  it("decomposes f into u_1..u_9", () => {
    expect(d.units.map(line)).toEqual([
      "u_{1} = w\\,x",
      "u_{2} = u_{1} + b",
      "u_{3} = \\sigma\\left(u_{2}\\right)",
      "u_{4} = u_{3} - y",
      "u_{5} = u_{4}^{2}",
      "u_{6} = \\frac{1}{2}\\,u_{5}",
      "u_{7} = w^{2}",
      "u_{8} = \\frac{1}{2}\\,u_{7}",
      "u_{9} = u_{6} + u_{8}",
    ]);
  });

  it("records the order w, x, b, y, u_1, ..., u_9", () => {
    expect(d.order).toEqual(["w", "x", "b", "y", ...Array.from({ length: 9 }, (_, i) => `u_{${i + 1}}`)]);
  });

  it("keeps the child sets S(u)", () => {
    expect(d.childSets.map(line)).toEqual([
      "S(w) = \\{u_{1}, u_{7}\\}",
      "S(x) = \\{u_{1}\\}",
      "S(b) = \\{u_{2}\\}",
      "S(y) = \\{u_{4}\\}",
      ...[2, 3, 4, 5, 6].map((k) => `S(u_{${k - 1}}) = \\{u_{${k}}\\}`),
      "S(u_{6}) = \\{u_{9}\\}",
      "S(u_{7}) = \\{u_{8}\\}",
      "S(u_{8}) = \\{u_{9}\\}",
    ]);
  });

  it("takes each edge's local derivative from the rule table", () => {
    expect(d.locals.map(line)).toEqual([
      "\\frac{\\partial u_{1}}{\\partial w} = x",
      "\\frac{\\partial u_{2}}{\\partial u_{1}} = 1",
      "\\frac{\\partial u_{2}}{\\partial b} = 1",
      "\\frac{\\partial u_{3}}{\\partial u_{2}} = \\sigma'\\left(u_{2}\\right) = u_{3}\\,\\left(1 - u_{3}\\right)",
      "\\frac{\\partial u_{4}}{\\partial u_{3}} = 1",
      "\\frac{\\partial u_{5}}{\\partial u_{4}} = 2\\,u_{4}",
      "\\frac{\\partial u_{6}}{\\partial u_{5}} = \\frac{1}{2}",
      "\\frac{\\partial u_{7}}{\\partial w} = 2\\,w",
      "\\frac{\\partial u_{8}}{\\partial u_{7}} = \\frac{1}{2}",
      "\\frac{\\partial u_{9}}{\\partial u_{6}} = 1",
      "\\frac{\\partial u_{9}}{\\partial u_{8}} = 1",
    ]);
  });

  it("sweeps in reverse creation order, expanding the sum where a node has two children", () => {
    expect(line(d.sweep[0])).toBe("\\frac{\\partial f}{\\partial u_{9}} = 1");
    const w = d.sweep.find((e) => e.lhs === "\\frac{\\partial f}{\\partial w}")!;
    expect(w.steps[0]).toBe(
      "\\frac{\\partial f}{\\partial u_{1}} \\frac{\\partial u_{1}}{\\partial w} + \\frac{\\partial f}{\\partial u_{7}} \\frac{\\partial u_{7}}{\\partial w}",
    );
    const u4 = d.sweep.find((e) => e.lhs === "\\frac{\\partial f}{\\partial u_{4}}")!;
    expect(u4.steps[u4.steps.length - 1]).toBe("\\sigma\\left(w\\,x + b\\right) - y");
    expect(d.sweep.map((e) => e.lhs.replace(/\\frac\{\\partial f\}\{\\partial (.*)\}/, "$1"))).toEqual([
      "u_{9}",
      "u_{8}",
      "u_{7}",
      "u_{6}",
      "u_{5}",
      "u_{4}",
      "u_{3}",
      "u_{2}",
      "u_{1}",
      "b",
      "w",
    ]);
  });

  it("ends with the lecture's closed forms", () => {
    expect(d.finals.map(line)).toEqual([
      "\\frac{\\partial f}{\\partial w} = \\left(\\sigma\\left(w\\,x + b\\right) - y\\right)\\,\\sigma'\\left(w\\,x + b\\right)\\,x + w",
      "\\frac{\\partial f}{\\partial b} = \\left(\\sigma\\left(w\\,x + b\\right) - y\\right)\\,\\sigma'\\left(w\\,x + b\\right)",
    ]);
  });
});

describe("vector form (4.6.4)", () => {
  it("gives softmax(z) - y for the MLP's logits and (∇ ⊙ ReLU') xᵀ for W1", () => {
    const d = derive(analyze(read("mlp")));
    const final = (p: string) => d.finals.find((e) => e.lhs.startsWith(`\\nabla_{\\mathbf{${p}}`))!.steps[0];
    expect(final("b}_{2")).toBe("\\operatorname{softmax}\\left(\\mathbf{z}\\right) - \\mathbf{y}");
    expect(final("W}_{2")).toBe(
      "\\left(\\operatorname{softmax}\\left(\\mathbf{z}\\right) - \\mathbf{y}\\right) \\mathbf{h}^{\\top}",
    );
    expect(final("W}_{1")).toContain(
      "\\odot \\operatorname{ReLU}'\\left(\\mathbf{W}_{1} \\mathbf{x} + \\mathbf{b}_{1}\\right)\\right) \\mathbf{x}^{\\top}",
    );
    expect(d.finals[0].lhs).toContain("\\in \\mathbb{R}^{128 \\times 784}");
  });

  it("says that softmax cross-entropy contributes softmax(z) − y only where the model has one (#12)", () => {
    const says = (src: string) => explain(src).text.includes("Softmax cross-entropy contributes");
    expect(says(read("mlp"))).toBe(true);
    expect(says("param W[3, 4]\ninput x[4]: int, y: int\nloss = cross_entropy(W @ x, y)\n")).toBe(true);
    expect(says("param w[3], b\ninput X[5, 3], y[5]\nloss = mse(X @ w + b, y)\n")).toBe(false);
    expect(says("param w[3], b\ninput X[5, 3], y[5]\nloss = bce_with_logits(X @ w + b, y)\n")).toBe(false);
  });

  it("writes deep chains through named adjoints, as in 4.3", () => {
    const d = derive(analyze(read("chain")));
    const w7 = d.finals.find((e) => e.lhs === "\\frac{\\partial f}{\\partial w_{7}}")!;
    expect(w7.steps[0]).toBe(
      "\\frac{\\partial f}{\\partial h_{7}}\\,\\sigma'\\left(w_{7}\\,h_{6} + b_{7}\\right)\\,h_{6}",
    );
  });
});

describe("values at a point (--at)", () => {
  for (const [name, at] of [
    ["lecture", "w=0.5,b=-1,x=2,y=1"],
    ["tiny-mlp", "random:3"],
    ["chain", "random:7"],
  ] as const) {
    it(`${name}: every gradient agrees with the generated module to 1e-12`, async () => {
      const a = analyze(read(name));
      const point = parsePoint(at, a.canonical);
      const d = derive(a, point);
      const mod = await loadModule((await compile(read(name))).typescript);
      const got = mod.gradients(point.params as never, point.inputs as never);
      for (const p of a.canonical.params) {
        const row = d.table!.find(
          (r) =>
            r.symbol === d.order[a.canonical.nodes.filter((n) => n.op !== "const").findIndex((n) => n.id === p.node)],
        )!;
        const want = got.grads[p.name];
        const values = typeof want === "number" ? [want] : [...want];
        values.forEach((v, i) => expect(Math.abs(row.grad![i] - v), `${p.name}[${i}]`).toBeLessThan(1e-12));
      }
      const lossRow = d.table![d.table!.length - 1];
      expect(Math.abs(lossRow.value[0] - got.loss)).toBeLessThan(1e-12);
    });
  }

  it("prints 6 significant digits by default, --digits to change (a table that fits a page, #12)", () => {
    const cells = (digits?: number) => {
      const text = explain(read("lecture"), { at: "w=0.3,b=-1.7,x=2.9,y=1", ...(digits ? { digits } : {}) }).text;
      return [...text.matchAll(/^\| \$[^$]*\$ \| ([^|]*) \|/gm)].map((m) => m[1].trim());
    };
    const significant = (v: string) =>
      v
        .replace(/^-?0?\.?0*/, "")
        .replace(/e.*$/, "")
        .replace(".", "").length;
    expect(cells().length).toBeGreaterThan(10);
    expect(Math.max(...cells().map(significant))).toBe(6);
    expect(Math.max(...cells(3).map(significant))).toBe(3);
    expect(cells(17)).toContain(String(Math.tanh(0) + 0.3 * 2.9)); // u1 = w x, every digit
  });

  it("matches the lecture's hand computation at w=0.5, b=-1, x=2, y=1", () => {
    const a = analyze(read("lecture"));
    const d = derive(a, parsePoint("w=0.5,b=-1,x=2,y=1", a.canonical));
    const row = (s: string) => d.table!.find((r) => r.symbol === s)!;
    expect(row("u_{3}").value[0]).toBe(0.5); // σ(0)
    expect(row("w").grad![0]).toBe(0.25); // x σ'(0)(σ(0) - y) + w = 2 · 1/4 · (-1/2) + 1/2
    expect(row("b").grad![0]).toBe(-0.125);
  });

  it("explains bad points", () => {
    const a = analyze(read("lecture"));
    expect(() => parsePoint("w=0.5", a.canonical)).toThrow("give a value for b, x, y");
    expect(() => parsePoint("w=0.5,b=1,x=2,y=1,q=3", a.canonical)).toThrow("'q' is not a param or input");
    expect(() => parsePoint("w=abc,b=1,x=2,y=1", a.canonical)).toThrow("is not a number");
  });
});

describe("output (golden)", () => {
  it("lecture: Markdown with values, and LaTeX", async () => {
    await expect(
      explain(read("lecture"), { filename: "examples/lecture.grad", at: "w=0.5,b=-1,x=2,y=1", picture: "lecture.svg" })
        .text,
    ).toMatchFileSnapshot("fixtures/lecture/derivation.md");
    await expect(
      explain(read("lecture"), { filename: "examples/lecture.grad", format: "tex" }).text,
    ).toMatchFileSnapshot("fixtures/lecture/derivation.tex");
  });
  it("chain and MLP", async () => {
    await expect(explain(read("chain"), { filename: "examples/chain.grad" }).text).toMatchFileSnapshot(
      "fixtures/chain/derivation.md",
    );
    await expect(explain(read("mlp"), { filename: "examples/mlp.grad", format: "tex" }).text).toMatchFileSnapshot(
      "fixtures/mlp/derivation.tex",
    );
    await expect(explain(read("mlp"), { filename: "examples/mlp.grad" }).text).toMatchFileSnapshot(
      "fixtures/mlp/derivation.md",
    );
  });
  it("the graph as DOT", async () => {
    await expect(await graph(read("lecture"), { format: "dot", at: "w=0.5,b=-1,x=2,y=1" })).toMatchFileSnapshot(
      "fixtures/lecture/graph.dot",
    );
  });
  it("is deterministic", () => {
    expect(explain(read("mlp")).text).toBe(explain(read("mlp")).text);
  });
});

// every example's fragments with KaTeX and its .tex with pdflatex: test/corpus.test.ts

describe("pictures", () => {
  it("draw what the loss depends on, constants as their values, and a long chain top to bottom (#12)", async () => {
    const dot = await graph("param w\ninput x\nunused = exp(x)\nloss = 0.5 * w^2\n", { format: "dot" });
    expect(dot).not.toContain("exp"); // a value computed for nothing is not drawn
    expect(dot).toMatch(/label="0.5"/);
    expect(dot).toMatch(/label="2"/);
    expect(dot).toContain("rankdir=LR");
    expect(await graph(read("lecture"), { format: "dot" })).toContain("rankdir=TB");
  });

  it("draws an SVG with Graphviz-in-wasm: params, inputs and units with values and gradients", async () => {
    const svg = await graph(read("lecture"), { at: "w=0.5,b=-1,x=2,y=1" });
    expect(svg).toMatch(/^<\?xml|^<svg/);
    expect(svg).toContain("<svg");
    expect(svg).toContain("grad 0.2500"); // ∂f/∂w at the point
    expect(svg).toContain("u₃ σ");
  });
});

describe("gradc explain / graph", () => {
  const run = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  };
  it("writes Markdown with its picture beside it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gradc-explain-"));
    const r = await run(
      "explain",
      "examples/lecture.grad",
      "--at",
      "w=0.5,b=-1,x=2,y=1",
      "-o",
      join(dir, "lecture.md"),
    );
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "lecture.md"), "utf8")).toContain("![computation graph](lecture.svg)");
    expect(readFileSync(join(dir, "lecture.svg"), "utf8")).toContain("<svg");
  });
  it("prints LaTeX and DOT", async () => {
    expect((await run("explain", "examples/lecture.grad", "--format", "tex")).stdout).toContain("\\documentclass");
    expect((await run("graph", "examples/lecture.grad", "--format", "dot")).stdout).toContain("digraph gradc");
  });
  it("reports a bad --at and compile errors with exit 1", async () => {
    const bad = await run("explain", "examples/lecture.grad", "--at", "w=1");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("gradc: error[E504]: --at: give a value for b, x, y");
    const dir = mkdtempSync(join(tmpdir(), "gradc-explain-"));
    writeFileSync(join(dir, "e.grad"), "loss = q\n");
    const err = await run("graph", join(dir, "e.grad"));
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("error[E101]");
  });
  it("runs from the shell", () => {
    expect(
      execFileSync("npx", ["tsx", "cli.ts", "explain", "examples/lecture.grad", "--format", "tex"], {
        encoding: "utf8",
      }),
    ).toContain("\\boxed");
  }, 60_000);
});

describe("pictures of graphs nobody drew by hand (#16)", () => {
  const shared = (L: number) =>
    `const L = ${L}\ninput x, y\nparam w, b\nh{0} = x\nfor k in 1..L {\n  h{k} = sigmoid(w * h{k-1} + b)\n}\nloss = 0.5 * (h{L} - y)^2\n`;
  it("a weight shared by 100 layers is drawn beside each use, and the graph lays out in seconds", async () => {
    const dot = await graph(shared(100), { format: "dot" });
    expect(dot.match(/^ {2}n\d+_\d+ \[shape=box, label="w"/gm)?.length).toBe(100);
    expect(dot).toContain("nslimit=1; nslimit1=1; splines=line;");
    const svg = await graph(shared(100));
    expect(svg).toContain("<svg");
  }, 60_000);
  it("a graph too large to draw is refused with E541; explain still writes the derivation", async () => {
    await expect(graph(shared(600))).rejects.toThrow(/error\[E541\]: model.grad: its graph has \d+ nodes/);
    expect(await graph(shared(600), { format: "dot" })).toContain("digraph");
    expect(explain(shared(600)).text).toContain("Backpropagation");
  }, 60_000);
});
