import { templates } from "./templates.generated.js";

/**
 * The text of templates/ (the module header, the derivation pages), compiled into the package
 * by `npm run gen` (scripts/templates.ts) so that no file system is needed to read them.
 */
export function templateText(name: string): string {
  const text = templates[name];
  if (text === undefined) throw new Error(`gradc: no template ${name}`);
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
