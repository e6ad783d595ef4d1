/**
 * Every user-facing message, once. Format: code -> severity, message template with {holes},
 * optional hint template (or named hint templates, one chosen per occurrence). Codes are stable: tests and users grep for them.
 *   E0xx lexical and syntax   E1xx names and calls   E2xx shapes and constants
 *   E3xx the loss             W4xx warnings
 *   E5xx outside the source: --at values, project settings, files, command-line options
 */
export type Severity = "error" | "warning";

export interface CatalogueEntry {
  readonly severity: Severity;
  readonly message: string;
  /** one hint for every occurrence */
  readonly hint?: string;
  /**
   * or hints that depend on the case, by name: a call site picks one (`hint: { kind: "similar",
   * suggestion: "w" }`) or none; each is a template with {holes} of its own
   */
  readonly hints?: Readonly<Record<string, string>>;
}

export const catalogue = {
  E001: { severity: "error", message: "unexpected character '{char}'" },
  E002: {
    severity: "error",
    message: "expected {expected}, found {found}",
    hints: {
      strayBrace: "this '}' closes no block",
      intType: "inputs are numbers by default; `: int` marks integer data (indices, labels)",
      chained: "comparisons do not chain: write (a < b) * (b < c)",
      depth: "expressions nest at most {max} levels",
      keywordOrder: "positional arguments come before keyword arguments (name=value)",
      oneStatement: "put one statement on each line",
      lossForm: "write `loss = expr` or `loss name = expr`",
      forForm: "write `for k in 1..L { ... }`",
      declaration: "declarations start with `param`, `input` or `const`",
      statement: "statements are `param`, `input`, `const`, `loss`, `for`, or `name = expr`",
      defForm: "write `def name(x, y) = expr`",
      defaultsLast: "parameters with defaults come last",
      defBody: "write `def f(x) = expr` or a body in { } that ends with `return`",
    },
  },
  E003: { severity: "error", message: "malformed number '{text}'" },
  E004: { severity: "error", message: "unclosed '{open}'", hint: "add a matching '{close}'" },
  E005: { severity: "error", message: "'**' is not an operator", hint: "use ^ for powers: x^2" },
  E006: { severity: "error", message: "unterminated string", hint: "close it with '\"' on the same line" },
  E007: {
    severity: "error",
    message: "'{char}' looks like an operator but is not one",
    hint: "write {instead}",
  },

  E101: {
    severity: "error",
    message: "unknown name '{name}'",
    hints: {
      outside:
        "'{name}' is defined outside '{def}': a function sees its parameters, its locals and the program's consts; pass it as an argument",
      indexed: "{family}{\u2026} is defined so far for {which}",
      similar: "did you mean '{suggestion}'?",
    },
  },
  E102: {
    severity: "error",
    message: "'{name}' is already defined",
    hint: "it was first defined at {where}; every name is assigned once",
  },
  E103: {
    severity: "error",
    message: "'{name}' is used before it is defined",
    hint: "it is defined later, at {where}; move that line up",
  },
  E104: {
    severity: "error",
    message: "unknown function '{name}'",
    hints: {
      notFunction: "'{name}' is a {what}, not a function",
      similar: "did you mean '{suggestion}'?",
      sigmaSymbol: "write sigmoid(...) for \u03c3",
      ln: "log is the natural logarithm: log(...)",
      list: "the functions are listed in docs/language.md",
    },
  },
  E105: { severity: "error", message: "'{name}' takes {expected}, found {found}" },
  E106: { severity: "error", message: "'{name}' is a function, not a value", hint: "call it: {name}(...)" },
  E107: {
    severity: "error",
    message: "{what} must be a compile-time constant, but '{name}' is a {kind}",
    hint: "use a number, a `const`, or a loop variable",
  },
  E108: {
    severity: "error",
    message: "'{name}' cannot be indexed: it is not a family of names",
    hint: "indexed names look like {example}, where k is a loop variable or constant",
  },
  E110: {
    severity: "error",
    message: "'{name}' has no argument '{arg}'",
    hints: {
      similar: "did you mean '{suggestion}'?",
      signature: "{signature}",
    },
  },
  E111: { severity: "error", message: "argument '{arg}' of '{name}' is given twice" },
  E112: { severity: "error", message: "'{name}' is missing its argument '{arg}'", hint: "{signature}" },
  E113: {
    severity: "error",
    message: "'{arg}' of '{name}' must be {expected}, found {found}",
    hints: {
      intData: "declare it as an integer input: `input ids[T]: int`",
      dimension: "every dimension is at least 1",
      huberDelta: "delta is where the loss turns from quadratic to linear",
      pairwise: "{name}(a, b) is elementwise; {name}(x, axis=k) reduces one operand",
      perAxis: "write {arg}=2 or {arg}=[2, 1]",
      oneAxis: "write {arg}=2",
      padding: "as PyTorch, a window may not lie wholly in the padding",
    },
  },
  E114: {
    severity: "error",
    message: "'{name}' calls itself",
    hint: "functions are inlined at compile time, so recursion cannot end; unroll it with a `for` loop",
  },
  E115: {
    severity: "error",
    message: "'{name}' is a built-in function",
    hint: "a def cannot replace it; choose another name",
  },
  E116: {
    severity: "error",
    message: "{what} cannot appear inside a def",
    hint: "a def body holds assignments, loops and a `return`; declarations and functions go at the top level, and a def receives what it needs as parameters",
  },
  E120: {
    severity: "error",
    message: "': int' cannot appear on a param",
    hint: "params are differentiated, so they are real numbers; integer data (indices, labels) is an `input`",
  },
  E121: {
    severity: "error",
    message: "'return' cannot appear outside a def",
    hint: "the program's result is its `loss`",
  },
  E122: { severity: "error", message: "a statement cannot appear after `return`", hint: "`return` ends the body" },
  E117: {
    severity: "error",
    message: "'{name}' returns {count}, but {expected}",
    hints: {
      receive: "receive them with `{receivers} = {name}(...)`",
      oneValue: "only a def that ends with `return a, b` gives several values",
      perValue: "name one receiver per returned value",
    },
  },
  E118: {
    severity: "error",
    message: "'{name}' has no return",
    hint: "end its body with `return expr` (or `return a, b`)",
  },
  E119: {
    severity: "error",
    message: "calls of '{name}' inline more than {limit} function bodies",
    hint: "every call is inlined at compile time; a function that calls another twice per level doubles the work at each level",
  },
  E109: {
    severity: "error",
    message: "loop '{name}' runs {count} times, more than the limit of {limit}",
    hint: "gradc unrolls loops at compile time; a smaller network or fewer layers compiles",
  },

  E201: {
    severity: "error",
    message: "shapes do not broadcast in '{op}': {left} {op} {right}",
    hints: {
      transposeRows:
        "a vector of length {n} broadcasts against the rows of a matrix, which have length {m}; did you mean to transpose the matrix?",
      numpy: "operands broadcast when their trailing dimensions are equal or 1 (NumPy rules)",
    },
  },
  E202: {
    severity: "error",
    message: "matmul dimensions do not match: {left} @ {right}",
    hints: {
      scalar: "'@' takes tensors of rank 1 or more; use '*' to scale by a scalar",
      inner: "the inner dimensions {inner} and {other} must be equal",
      innerTranspose:
        "the inner dimensions {inner} and {other} must be equal; did you mean to transpose the left operand?",
      batch: "the batch dimensions {batchA} and {batchB} do not broadcast",
    },
  },
  E203: { severity: "error", message: "'{name}' expects {expected}, found shape {shape}" },
  E204: {
    severity: "error",
    message: "{what} must be arithmetic on numbers and constants, found {value}",
    hint: "a compile-time value is made of numbers, consts, loop variables and + - * / ^",
  },
  E206: {
    severity: "error",
    message: "axis {axis} is out of range for shape {shape}",
    hint: "a tensor of rank {rank} has axes 0 to {last} (or -{rank} to -1, counting from the end)",
  },
  E207: {
    severity: "error",
    message: "index {index} is out of range for axis {axis} of length {length}",
    hint: "indices run from 0 to {last} (or -{length} to -1)",
  },
  E208: {
    severity: "error",
    message: "cannot reshape {from} ({count} elements) to {to}",
    hints: {
      dimensions: "dimensions are positive integers, and at most one is -1",
      multiple: "{count} is not a multiple of {known}",
      counts: "the element counts must be equal",
    },
  },
  E209: {
    severity: "error",
    message: "einsum subscripts '{spec}': {problem}",
    hint: 'write explicit subscripts, one letter per axis: "bij,bjk->bik"',
  },
  E210: {
    severity: "error",
    message: "{what} has shape {shape}: {count} elements, more than a generated module can hold",
    hint: "a tensor holds at most {limit} elements (2 GiB as float64); use smaller shapes",
  },
  E211: { severity: "error", message: "{what} must be a {sign} integer, found {value}" },
  E212: {
    severity: "error",
    message: "a value must be a number or a tensor expression, found {value}",
    hint: "strings and [lists] are arguments of functions (einsum, reshape, axis=[...]), not values",
  },
  E213: {
    severity: "error",
    message: "a shape has at most {limit} dimensions, found {count}",
    hint: "reshape the data to fewer axes",
  },
  E214: {
    severity: "error",
    message: "a slice must have integer bounds and a nonzero step, found {value}",
    hint: "write start:stop:step with compile-time integers, e.g. x[1:5:2] or x[::-1]",
  },
  E215: {
    severity: "error",
    message: "the slice {value} selects no element of an axis of length {length}",
    hint: "a slice must keep at least one element",
  },
  E205: { severity: "error", message: "'{name}' needs operands of the same shape, found {left} and {right}" },

  E301: { severity: "error", message: "the program has no loss", hint: "add one line `loss = <scalar expression>`" },
  E302: {
    severity: "error",
    message: "a second loss",
    hint: "a program has exactly one loss; the first is at {where}",
  },
  E303: {
    severity: "error",
    message: "the loss must be a scalar, found shape {shape}",
    hint: "reduce it, e.g. sum(...) or mean(...)",
  },

  W401: {
    severity: "warning",
    message: "param '{name}' does not reach the loss; its gradient is always zero",
    hint: "use it in the loss, or declare it as `input`",
  },

  E501: { severity: "error", message: "--at: '{raw}' is not a number or a [list] of numbers" },
  E502: {
    severity: "error",
    message: "--at: expected name=value pairs",
    hint: "e.g. --at w=0.5,b=-1,x=2,y=1 (or --at random)",
  },
  E503: {
    severity: "error",
    message: "--at: '{name}' is not a param or input of this model",
    hint: "they are: {names}",
  },
  E504: { severity: "error", message: "--at: give a value for {names}", hint: "or use --at random" },
  E505: { severity: "error", message: "--at: '{name}' needs {count}, got {got}" },
  E506: { severity: "error", message: "--at: '{name}' is integer data: its values are whole numbers from 0 to {last}" },

  E510: {
    severity: "error",
    message: "{file}: {reason}",
    hint: "settings are a JSON object of the keys gradc build --help lists",
  },
  E511: { severity: "error", message: "{from}: expected an object" },
  E512: { severity: "error", message: '{from}: unknown setting "{key}" (settings: {known})' },
  E513: { severity: "error", message: '{from}: "{setting}" must be {expected}' },
  E514: {
    severity: "error",
    message: '{from}: "outDir" {outDir} is outside the project ({path})',
    hint: 'set "outsideRoot": true to write there',
  },

  E520: { severity: "error", message: "cannot read {path}: {reason}" },
  E521: { severity: "error", message: "cannot read {path}: {size} bytes is more than a source may have ({limit})" },
  E522: {
    severity: "error",
    message: "refusing to write {out}: it is the input {source}",
    hint: "choose another output",
  },
  E523: {
    severity: "error",
    message: "refusing to write {out} twice: both {first} and {second} would write it",
    hint: "compile them into different folders or rename one",
  },
  E524: { severity: "error", message: "cannot write {path}: {reason}" },

  E530: { severity: "error", message: "-o takes one input", hint: "use --out-dir for several" },
  E531: {
    severity: "error",
    message: "--init {value}: not an initialization",
    hint: "use xavier, normal:<std> or uniform:<limit>",
  },
  E532: { severity: "error", message: "--seed {value} is not an integer" },
  E533: {
    severity: "error",
    message: "{file} has no layers to follow",
    hint: "flow follows the indexed names of a for loop ({example}); this model has none",
  },
  E534: {
    severity: "error",
    message: "--digits {value} is not a whole number from 1 to 17",
    hint: "the values table prints 6 significant digits by default; a float64 has 17",
  },
  E541: {
    severity: "error",
    message: "{file}: its graph has {count} nodes, more than a picture can show ({limit})",
    hint: "--format dot writes the graph for other tools; gradc explain writes the derivation without the picture",
  },
  E542: {
    severity: "error",
    message:
      "{file}: --target wasm needs {size} of WebAssembly memory for its batched chunk, more than a module can have ({limit})",
    hint: "compile it for the TypeScript target (no --target wasm), which has no such limit",
  },
  E540: {
    severity: "error",
    message: "{file} has a formula nested more than {limit} operations deep{where}",
    hint: "derivations and graphs are written for a person to read; name intermediate values (s1 = ..., s2 = ...) and try again",
  },
} as const satisfies Record<string, CatalogueEntry>;

export type Code = keyof typeof catalogue;
