/**
 * The shape of the compiler's own code (#17): no function longer than MAX_LINES without a reason
 * written above it (a comment line starting `long:`), so each stage reads as short named steps.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_LINES = 80;

function sources(dir = "src"): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

interface Long {
  readonly where: string;
  readonly lines: number;
  readonly reason?: string;
}

/** functions (declarations, methods, arrows) longer than `max` lines, with the reason above each, if any */
export function longFunctions(file: string, text: string, max = MAX_LINES): Long[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Long[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && "body" in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const lines = sf.getLineAndCharacterOfPosition(n.end).line - first + 1;
      if (lines > max) {
        // the comment above the function, or above the statement or property that holds it
        let holder: ts.Node = n;
        if (ts.isArrowFunction(n) || ts.isFunctionExpression(n)) holder = n.parent;
        if (ts.isVariableDeclaration(holder)) holder = holder.parent.parent;
        const comments = text.slice(holder.getFullStart(), holder.getStart());
        const reason = /\/\/\s*long:\s*(.+)|\*\s*long:\s*(.+)/.exec(comments);
        out.push({
          where: `${file}:${first + 1}`,
          lines,
          ...(reason ? { reason: (reason[1] ?? reason[2]).trim() } : {}),
        });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe("the shape of the code", () => {
  it(`no function in src/ is longer than ${MAX_LINES} lines without a reason above it`, () => {
    const unexplained = sources().flatMap((f) =>
      longFunctions(f, readFileSync(f, "utf8"))
        .filter((l) => !l.reason)
        .map((l) => `${l.where} (${l.lines} lines)`),
    );
    expect(unexplained).toEqual([]);
  });

  it("finds a long function, and accepts one with a reason (the check itself)", () => {
    const body = Array.from({ length: 90 }, (_, i) => `  const x${i} = ${i};`).join("\n");
    expect(longFunctions("a.ts", `function f() {\n${body}\n}\n`)).toMatchObject([{ where: "a.ts:1", lines: 92 }]);
    const explained = longFunctions("a.ts", `// long: one table of cases\nconst f = () => {\n${body}\n};\n`);
    expect(explained).toMatchObject([{ reason: "one table of cases" }]);
  });
});
