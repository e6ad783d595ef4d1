/**
 * The generated module's declarations as data, and their printer: the few forms a module has
 * (type aliases, variables, interfaces, a class, functions), each with its doc comment. Prettier
 * formats the result; the printer only decides what goes on which line and where blank lines go
 * (around interfaces, classes and functions; none between consecutive variables and aliases).
 */

export interface Doc {
  /** one doc comment line each: printed as /** text *\/ */
  readonly docs?: readonly string[];
}
export interface Param {
  readonly name: string;
  readonly type?: string;
  readonly initializer?: string;
  /** `name!: type`: assigned before any read, where the type checker cannot see it */
  readonly definite?: boolean;
}
export interface TypeAlias extends Doc {
  readonly kind: "type";
  readonly name: string;
  readonly type: string;
  readonly isExported?: boolean;
}
export interface Variable extends Doc {
  readonly kind: "var";
  readonly declarationKind: "const" | "let";
  readonly isExported?: boolean;
  readonly declarations: readonly Param[];
}
export interface Interface extends Doc {
  readonly kind: "interface";
  readonly name: string;
  readonly isExported?: boolean;
  readonly properties: readonly (Doc & { readonly name: string; readonly type: string })[];
  readonly methods?: readonly {
    readonly name: string;
    readonly parameters: readonly Param[];
    readonly returnType: string;
  }[];
}
export interface Class extends Doc {
  readonly kind: "class";
  readonly name: string;
  readonly implements?: readonly string[];
  readonly properties: readonly Required<Omit<Param, "definite">>[];
}
export interface FunctionDecl extends Doc {
  readonly kind: "function";
  readonly name: string;
  readonly isExported?: boolean;
  readonly isAsync?: boolean;
  readonly parameters?: readonly Param[];
  readonly returnType?: string;
  /** the body, as statements already printed */
  readonly statements: readonly string[];
}
export type Declaration = TypeAlias | Variable | Interface | Class | FunctionDecl;

/** every line of a body one level in (bodies hold no multi-line strings) */
const indented = (text: string) => text.replace(/^(?=.)/gm, "  ");
const docs = (d: Doc, indent = "") => (d.docs ?? []).map((t) => `${indent}/** ${t} */\n`).join("");
const exported = (d: { readonly isExported?: boolean }) => (d.isExported ? "export " : "");
const param = (p: Param) =>
  `${p.name}${p.definite ? "!" : ""}${p.type !== undefined ? `: ${p.type}` : ""}${p.initializer !== undefined ? ` = ${p.initializer}` : ""}`;

function print(d: Declaration): string {
  switch (d.kind) {
    case "type":
      return `${docs(d)}${exported(d)}type ${d.name} = ${d.type};`;
    case "var":
      return `${docs(d)}${exported(d)}${d.declarationKind} ${d.declarations.map(param).join(", ")};`;
    case "interface": {
      const props = d.properties.map((p) => `${docs(p, "  ")}  ${p.name}: ${p.type};`);
      const methods = (d.methods ?? []).map(
        (m) => `  ${m.name}(${m.parameters.map(param).join(", ")}): ${m.returnType};`,
      );
      const members = [...props, ...methods];
      return `${docs(d)}${exported(d)}interface ${d.name} ${members.length ? `{\n${members.join("\n")}\n}` : "{}"}`;
    }
    case "class": {
      const impl = d.implements?.length ? ` implements ${d.implements.join(", ")}` : "";
      const props = d.properties.map((p) => `  ${param(p)};`);
      return `${docs(d)}class ${d.name}${impl} ${props.length ? `{\n${props.join("\n")}\n}` : "{}"}`;
    }
    case "function": {
      const head = `${exported(d)}${d.isAsync ? "async " : ""}function ${d.name}(${(d.parameters ?? []).map(param).join(", ")})`;
      return `${docs(d)}${head}${d.returnType ? `: ${d.returnType}` : ""} {\n${indented(d.statements.join("\n"))}\n}`;
    }
  }
}

/** blank lines around blocks (interfaces, classes, functions), none between variables and aliases */
const isBlock = (d: Declaration) => d.kind === "interface" || d.kind === "class" || d.kind === "function";

export function printDeclarations(ds: readonly Declaration[]): string {
  return ds.map((d, k) => (k > 0 && (isBlock(d) || isBlock(ds[k - 1])) ? `\n${print(d)}` : print(d))).join("\n") + "\n";
}
