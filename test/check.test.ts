/**
 * The numeric check of derivations (#12): a false printed equation is refused, with the line;
 * the CLI reports it as a gradc bug (exit 70), not with a stack trace.
 */
import { describe, expect, it, vi } from "vitest";
import { InternalError } from "../src/diagnostics/internal.js";
import { checkEquations, disagreement, type Tensor } from "../src/explain/check.js";
import { apply, num, sym } from "../src/explain/math.js";

const t = (value: number[], shape: number[] = value.length === 1 ? [] : [value.length]): Tensor => ({
  shape,
  value: Float64Array.from(value),
});

describe("disagreement", () => {
  it("accepts equal values, a number standing for a filled vector, and rounding near zero", () => {
    expect(disagreement(t([1, 2]), t([1, 2 + 1e-12]), true)).toBeUndefined();
    expect(disagreement(t([0.5, 0.5]), t([0.5]), true)).toBeUndefined();
    expect(disagreement(t([-2e-17]), t([-1.4e-17]), true)).toBeUndefined();
  });

  it("names the element, both values and the relative difference of a false side", () => {
    expect(disagreement(t([1, 2]), t([1, 2.1]), true)).toBe(
      "element 1: 2.1 where 2 is meant (relative difference 4.76e-2)",
    );
    expect(disagreement(t([1, 2]), t([1, 2, 3]), true)).toBe("shape [3] where [2] is meant");
  });

  it("at the check's own point a NaN side is false; at a user's point a formula may overflow", () => {
    expect(disagreement(t([1]), t([NaN]), true)).toBe("element 0: NaN where 1 is meant");
    expect(disagreement(t([1]), t([Infinity]), false)).toBeUndefined();
  });
});

describe("checkEquations", () => {
  const values: Record<string, Tensor> = { a: t([3]), b: t([4]), v: t([1, 2, 3]) };
  const bind = (k: string) => values[k];

  it("passes a true line and refuses a false one, quoting it", () => {
    const truth = sym("a", []);
    const ok = { text: "a = 3", truth, sides: [num(3), apply("sub", [sym("b", []), num(1)])] };
    expect(() => checkEquations([ok], bind, "random:1", true)).not.toThrow();
    const wrong = { text: "a = b - 2", truth, sides: [undefined, apply("sub", [sym("b", []), num(2)])] };
    expect(() => checkEquations([ok, wrong], bind, "random:1", true)).toThrow(
      new InternalError(
        "the derivation would print a false equation (side 2, at random:1: element 0: 2 where 3 is meant (relative difference 3.33e-1)):\n  a = b - 2",
      ),
    );
  });

  it("evaluates ops through their meaning: Σ v = 6", () => {
    const total = { text: "6 = Σ v", truth: num(6), sides: [apply("sum", [sym("v", [3])])] };
    expect(() => checkEquations([total], bind, "random:1", true)).not.toThrow();
    const off = { text: "7 = Σ v", truth: num(7), sides: [apply("sum", [sym("v", [3])])] };
    expect(() => checkEquations([off], bind, "random:1", true)).toThrow(/false equation/);
  });
});

describe("a false equation in the CLI", () => {
  it("is reported as a gradc bug with the line, exit 70, no stack trace", async () => {
    vi.resetModules();
    vi.doMock("../src/explain/check.js", async (original) => {
      // the error class of the fresh module graph main() loads
      const fresh = await import("../src/diagnostics/internal.js");
      return {
        ...(await original<typeof import("../src/explain/check.js")>()),
        checkEquations: () => {
          throw new fresh.InternalError(
            "the derivation would print a false equation (side 1, at random:1: …):\n  u_{1} = 2",
          );
        },
      };
    });
    const { main } = await import("../src/cli/main.js");
    let out = "";
    let err = "";
    const code = await main(["explain", "examples/lecture.grad"], {
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
    });
    vi.doUnmock("../src/explain/check.js");
    expect(code).toBe(70);
    expect(out).toBe("");
    expect(err).toBe(
      "gradc internal error: the derivation would print a false equation (side 1, at random:1: …):\n  u_{1} = 2\n" +
        "This is a bug in gradc, not in your program: please report it with the .grad source.\n",
    );
  });
});
