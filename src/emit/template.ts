import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's templates/ folder, found from this file whether run from src/ or dist/. */
function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = join(dir, "templates");
    if (existsSync(join(cand, "module-header.txt"))) return cand;
    dir = dirname(dir);
  }
  throw new Error("gradc: cannot find its templates/ folder");
}

const cache = new Map<string, string>();

/** A template's text, as read from templates/ (once). */
export function templateText(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(templatesDir(), name), "utf8");
    cache.set(name, text);
  }
  return text;
}

/** Fill a template's {{holes}}; every hole must be given, every value is inserted verbatim. */
export function fillTemplate(name: string, values: Readonly<Record<string, string>>): string {
  return templateText(name).replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return v;
  });
}
