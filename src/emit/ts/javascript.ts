import { Project, ts } from "ts-morph";

/** A generated module as JavaScript (for bundlers, which load .grad files as code). */
export function toJavaScript(typescript: string): string {
  return ts.transpileModule(typescript, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/** The module's type declarations, for a `model.grad.d.ts` beside the source. */
export function declarations(typescript: string): string {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: {
      declaration: true,
      emitDeclarationOnly: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      strict: true,
      lib: ["lib.es2022.d.ts"],
    },
  });
  project.createSourceFile("module.ts", typescript);
  const out = project
    .emitToMemory({ emitOnlyDtsFiles: true })
    .getFiles()
    .find((f) => f.filePath.endsWith(".d.ts"));
  return out?.text ?? "";
}
