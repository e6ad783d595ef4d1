/**
 * A corpus of small .grad programs for gradient tests: every op alone and composed, fan-out,
 * broadcasting, every matmul form, loops. Arguments of log, sqrt and division are kept away
 * from their poles by construction (x^2 + 1, softplus(x) + 0.5).
 */
export interface Program {
  readonly name: string;
  readonly source: string;
}

const unaries: Record<string, (x: string) => string> = {
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x}^2 + 1)`,
  sqrt: (x) => `sqrt(${x}^2 + 0.5)`,
  abs: (x) => `abs(${x})`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  tan: (x) => `tan(${x})`,
  tanh: (x) => `tanh(${x})`,
  sigmoid: (x) => `sigmoid(${x})`,
  relu: (x) => `relu(${x})`,
  softplus: (x) => `softplus(${x})`,
  neg: (x) => `-${x}`,
};

const programs: Program[] = [];
const add = (name: string, source: string) => programs.push({ name, source: source.trim() + "\n" });

// every elementwise function, on a scalar, a vector and a matrix
for (const [name, f] of Object.entries(unaries)) {
  add(`${name}-scalar`, `param a\ninput c\nloss = ${f("(a * c + 0.3)")}`);
  add(`${name}-vector`, `param v[4]\nloss = sum(${f("v")})`);
  add(`${name}-matrix`, `param M[2, 3]\ninput X[2, 3]\nloss = mean(${f("M")} * X)`);
}

// binary operators with every broadcast
const binaries: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / (${b}^2 + 1)`,
  pow: (a, b) => `(${a}^2 + 1) ^ ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};
const shapes: [string, string][] = [
  ["scalar-scalar", "param p\nparam q"],
  ["scalar-vector", "param p\nparam q[3]"],
  ["vector-scalar", "param p[3]\nparam q"],
  ["vector-matrix", "param p[3]\nparam q[2, 3]"],
  ["matrix-vector", "param p[2, 3]\nparam q[3]"],
  ["column-row", "param p[2, 1]\nparam q[3]"],
];
for (const [name, f] of Object.entries(binaries)) {
  for (const [sname, decl] of shapes) {
    add(`${name}-${sname}`, `${decl}\ninput k[2, 3]\nloss = sum((${f("p", "q")}) * k)`);
  }
}

// reductions and row-wise ops
add("sum-mean", `param M[3, 4]\nloss = sum(M * M) + mean(M)^2`);
add("dot", `param a[5], b[5]\nloss = dot(a, b) + dot(a, a)`);
add("softmax-vector", `param z[5]\ninput w[5]\nloss = sum(softmax(z) * w)`);
add("softmax-matrix", `param Z[3, 4]\ninput W[3, 4]\nloss = sum(softmax(Z) * W)`);
add("log-softmax-vector", `param z[5]\ninput w[5]\nloss = sum(log_softmax(z) * w)`);
add("log-softmax-matrix", `param Z[2, 4]\ninput W[2, 4]\nloss = sum(log_softmax(Z) * W)`);
add("logsumexp-vector", `param z[6]\nloss = logsumexp(z)`);
add("logsumexp-matrix", `param Z[3, 2]\ninput w[3]\nloss = dot(logsumexp(Z), w)`);
add("sce-vector", `param z[4]\ninput y[4]\nloss = softmax_cross_entropy(z, y)`);
add("sce-matrix", `param Z[3, 4]\ninput Y[3, 4]\nloss = mean(softmax_cross_entropy(Z, Y))`);
add("sce-composed", `param z[4]\ninput y[4]\nloss = -sum(y * log(softmax(z)))`);
add("mse", `param p[4]\ninput t[4]\nloss = mse(p, t)`);
add("mse-broadcast", `param p\ninput t[4]\nloss = mse(p, t)`);

// matmul in every form, with transposes
add("matvec", `param A[3, 4], x[4]\nloss = sum(A @ x)`);
add("matvec-tiled", `param A[6, 9], x[9]\nloss = sum(tanh(A @ x))`);
add("matmul-tiled", `param A[5, 9], B[3, 9]\ninput C[5, 3]\nloss = sum(tanh(A @ B') * C)`);
add("vecmat", `param x[3], B[3, 4]\ninput c[4]\nloss = dot(x @ B, c)`);
add("matmul", `param A[2, 3], B[3, 4]\ninput C[2, 4]\nloss = sum((A @ B) * C)`);
add("transpose-matvec", `param A[4, 3], x[4]\nloss = sum(tanh(A' @ x))`);
add("transpose-call", `param A[3, 2]\ninput B[3, 2]\nloss = sum(transpose(A) @ B)`);
add("matmul-transpose-right", `param A[2, 3], B[4, 3]\nloss = sum(sigmoid(A @ B'))`);
add("outer-like", `param a[3, 1], b[1, 2]\nloss = sum((a @ b)^2)`);
add("gram", `param X[3, 2]\nloss = sum(X' @ X)`);

// fan-out and sharing
add("fan-out-lecture", `param w, b\ninput x, y\nloss f = 0.5 * (sigmoid(w*x + b) - y)^2 + 0.5 * w^2`);
add("a-plus-a", `param a\nloss = (a + a) * a`);
add("diamond", `param x\nu = sin(x)\nv = u * u + exp(u)\nloss = v * u`);
add("reuse-tensor", `param v[3]\nh = tanh(v)\nloss = sum(h * h) + dot(h, v)`);
add("variable-exponent", `param a, b\nloss = (a^2 + 1) ^ b + b ^ 2`);
add("right-assoc-pow", `param a\nloss = (a^2 + 1) ^ 2 ^ 0.5`);
add("unary-minus-pow", `param a\nloss = -a^2 + a`);
add("division-chain", `param a, b\nloss = a / (b^2 + 1) / (a^2 + 2)`);
add("constants", `const k = 3\nconst half = 1 / 2\nparam w[k]\nloss = half * sum(w^2) + 1e-3 * sum(w)`);

// networks
add(
  "mlp-tanh",
  `param W1[5, 3], b1[5], W2[2, 5], b2[2]\ninput x[3], y[2]\nh = tanh(W1 @ x + b1)\nloss = mse(W2 @ h + b2, y)`,
);
add(
  "mlp-relu-sce",
  `param W1[6, 4], b1[6], W2[3, 6], b2[3]\ninput x[4], y[3]\nh = relu(W1 @ x + b1)\nz = W2 @ h + b2\nloss = softmax_cross_entropy(z, y)`,
);
add(
  "mlp-batched-rows",
  `param W[3, 4], b[3]\ninput X[5, 4], Y[5, 3]\nZ = X @ W' + b\nloss = mean(softmax_cross_entropy(Z, Y))`,
);
add(
  "chain-loop",
  `const L = 6\ninput x, y\nh{0} = x\nfor k in 1..L {\n  param w{k}, b{k}\n  h{k} = sigmoid(w{k} * h{k-1} + b{k})\n}\nloss = 0.5 * (h{L} - y)^2`,
);
add(
  "vector-chain-loop",
  `const L = 3\ninput x[4]\nh{0} = x\nfor k in 1..L {\n  param W{k}[4, 4]\n  h{k} = tanh(W{k} @ h{k-1})\n}\nloss = sum(h{L})`,
);
add(
  "nested-loops",
  `for i in 1..2 {\n  for j in 1..2 {\n    param w{i*10+j}\n  }\n}\nloss = w_11 * w_12 + w_21 * w_22`,
);
add("unused-input", `param w\ninput x, unused\nloss = w * x`);
add("softplus-regression", `param w[3], b\ninput X[4, 3], t[4]\nloss = mean(softplus(-(X @ w + b) * t))`);

export const corpus: readonly Program[] = programs;
