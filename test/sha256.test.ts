import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256 } from "../src/util/sha256.js";

describe("sha256 without node:crypto (the compiler in a browser, #15)", () => {
  it("equals node:crypto's on any text, every block-boundary length included", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const s = "a".repeat(n);
      expect(sha256(s), `length ${n}`).toBe(createHash("sha256").update(s).digest("hex"));
    }
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(sha256(s)).toBe(createHash("sha256").update(s).digest("hex"));
      }),
      { numRuns: 300, seed: 20261202 },
    );
  });
});
