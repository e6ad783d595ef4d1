import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { decayPerLayer, flowTable, gradientFlow, layerRecurrence, parseInit } from "../src/flow/flow.js";
import { main } from "../src/cli/main.js";
import { lineChart } from "../src/plot/svg.js";

const flow = (name: string, init = "normal:1", seed = 3) =>
  gradientFlow(analyze(readFileSync(`examples/${name}.grad`, "utf8")), parseInit(init)!, seed);

describe("gradient flow (lecture 4.4)", () => {
  it("sigmoid gradients vanish geometrically: |∂f/∂h_k| shrinks by more than 4x per layer", () => {
    const f = flow("chain");
    const d = decayPerLayer(f)!;
    expect(d.column).toBe("|∂f/∂h|");
    // |σ'| <= 1/4, and |w| ~ 1 here
    expect(d.factor).toBeLessThan(0.25);
    expect(f.rows).toHaveLength(50);
    expect(f.rows[0].values["|∂f/∂h|"]).toBeLessThan(1e-30);
  });

  it("agrees with the chain rule: ∂f/∂h_(k-1) = ∂f/∂h_k σ'(z_k) w_k", () => {
    const a = analyze(readFileSync("examples/chain.grad", "utf8"));
    const f = gradientFlow(a, parseInit("normal:0.5")!, 11);
    // ‖∇b_k‖ = |∂f/∂h_k| σ'(z_k) and ‖∇w_k‖ = |∂f/∂h_k σ'(z_k) h_(k-1)|: so |∇w_k| / |∇b_k| = |h_(k-1)| ∈ (0, 1)
    for (const r of f.rows.slice(1)) {
      const ratio = r.values["‖∇w‖"] / r.values["‖∇b‖"];
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThan(1);
    }
  });

  it("is reproducible for a seed (golden table)", async () => {
    await expect(flowTable(flow("chain-tanh", "xavier", 1))).toMatchFileSnapshot("fixtures/flow/chain-tanh.txt");
    expect(flowTable(flow("chain", "uniform:1.5", 4))).toBe(flowTable(flow("chain", "uniform:1.5", 4)));
  });

  it("rejects bad init schemes", () => {
    expect(parseInit("normal:-1")).toBeUndefined();
    expect(parseInit("he")).toBeUndefined();
    expect(parseInit("uniform:0.5")).toEqual({ kind: "uniform", limit: 0.5 });
  });
});

describe("gradc flow", () => {
  const run = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  };
  it("prints a table and the lecture's explanation, and plots several models", async () => {
    const r = await run(
      "flow",
      "examples/chain.grad",
      "examples/chain-relu.grad",
      "--init",
      "uniform:1.5",
      "--seed",
      "4",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("layer     |∂f/∂h|");
    expect(r.stdout).toMatch(/shrinks by a factor of 0\.\d+ per layer/);
    expect(r.stdout).toContain("a unit there is off (relu with z <= 0)");
  });
  it("names the model's own activation and its bound (#12): tanh' ≤ 1 for a tanh chain, never sigmoid's", async () => {
    const tanh = await run("flow", "examples/chain-tanh.grad");
    expect(tanh.stdout).toContain("tanh'(z_k) w_k; tanh' ≤ 1)");
    expect(tanh.stdout).not.toContain("sigmoid");
    const sigmoid = await run("flow", "examples/chain.grad");
    expect(sigmoid.stdout).toContain("sigmoid'(z_k) w_k; sigmoid' ≤ 1/4)");
  });
  it("draws the checked-in docs/flow.svg", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "gradc-flow-")), "flow.svg");
    const r = await run(
      "flow",
      "examples/chain.grad",
      "examples/chain-tanh.grad",
      "examples/chain-relu.grad",
      "--init",
      "uniform:1.5",
      "--seed",
      "4",
      "-o",
      out,
    );
    expect(r.code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync("docs/flow.svg", "utf8"));
  });
  it("reads each layer's form off the program (lecture 4.4): a skip connection's 1 + σ'w, a batch norm's Jacobian", async () => {
    const skip = await run("flow", "examples/remedies/chain-skip.grad", "--init", "uniform:1.5", "--seed", "4");
    expect(skip.stdout).toContain("stays about level");
    expect(skip.stdout).toContain("∂f/∂h_k · (1 + sigmoid'(z_k) w_k): the skip connection's 1 carries it");
    const bn = await run("flow", "examples/remedies/chain-batchnorm.grad", "--init", "uniform:1.5", "--seed", "4");
    expect(bn.stdout).toContain("∂f/∂h_k · ∂h_k/∂h_(k-1), the layer's Jacobian)");
    expect(bn.stdout).not.toContain("sigmoid'(z_k) w_k");
    // the form is read off the graph: the plain chain, the skip connection, and neither for batch norm
    const a = analyze(readFileSync("examples/remedies/chain-skip.grad", "utf8"));
    expect(layerRecurrence(a, "h")).toEqual({ form: "skip", activation: "sigmoid" });
    expect(layerRecurrence(analyze(readFileSync("examples/chain-tanh.grad", "utf8")), "h")).toEqual({
      form: "plain",
      activation: "tanh",
    });
    expect(
      layerRecurrence(analyze(readFileSync("examples/remedies/chain-batchnorm.grad", "utf8")), "h"),
    ).toBeUndefined();
  });
  it("draws the checked-in docs/remedies.svg: lecture 4.4's remedies beside the plain chain", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "gradc-flow-")), "remedies.svg");
    const files = ["chain", "remedies/chain-batchnorm", "remedies/chain-skip", "chain-relu"].map(
      (n) => `examples/${n}.grad`,
    );
    const r = await run("flow", ...files, "--init", "uniform:1.5", "--seed", "4", "-o", out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync("docs/remedies.svg", "utf8"));
  });
  it("explains bad options", async () => {
    expect((await run("flow", "examples/chain.grad", "--init", "bogus")).code).toBe(2);
    expect((await run("flow", "examples/chain.grad", "--seed", "1.5")).code).toBe(2);
  });
});

describe("SVG line charts", () => {
  it("are deterministic and well formed", () => {
    const c = {
      title: "t <&>",
      xLabel: "x",
      yLabel: "y",
      logY: true,
      series: [
        {
          name: "a",
          points: [
            [1, 1e-3],
            [2, 1e-1],
            [3, 0],
          ] as [number, number][],
        },
      ],
    };
    const svg = lineChart(c);
    expect(svg).toBe(lineChart(c));
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  it("draw zeros on a log axis on a floor labelled 0, so a dead ReLU chain is seen (#12)", () => {
    const chart = (points: [number, number][]) =>
      lineChart({ title: "t", xLabel: "layer", yLabel: "|g|", logY: true, series: [{ name: "relu", points }] });
    const dead = chart([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(dead).toContain(">0</text>");
    expect(dead).toContain("relu (all 0)");
    expect(dead.match(/<circle /g)).toHaveLength(3);
    expect(dead).toMatch(/<path d="M\S+ \S+ L\S+ \S+ L\S+ \S+"/); // a line along the floor
    const mixed = chart([
      [1, 1e-2],
      [2, 1e-4],
      [3, 0],
    ]);
    expect(mixed.match(/<circle /g)).toHaveLength(1);
    expect(mixed).toContain(">1e-4</text>");
    // the floor is below the smallest value
    const y = (label: string) => Number(new RegExp(`y="([\\d.]+)"[^>]*>${label}</text>`).exec(mixed)![1]);
    expect(y("0")).toBeGreaterThan(y("1e-4"));
    expect(
      lineChart({ title: "t", xLabel: "x", yLabel: "y", logY: true, series: [{ name: "a", points: [[1, 1]] }] }),
    ).not.toContain("<circle");
  });
});

describe("integer inputs", () => {
  it("draws ids and labels from their valid range: the char RNN's flow has a row per step", () => {
    const f = flow("rnn", "xavier", 2);
    expect(f.rows.map((r) => r.layer)).toEqual(Array.from({ length: 16 }, (_, k) => k + 1));
    expect(Number.isFinite(f.loss)).toBe(true);
    for (const r of f.rows) expect(r.values["|∂f/∂h|"]).toBeGreaterThan(0);
  });
});
