/**
 * Programs of every rank the language allows, written the way a course's students write them:
 * reductions over axes, constructors, shape ops, indexing, concatenation, comparisons and
 * masks, batched products and einsum, the new activations and losses. Each is checked against
 * central finite differences and the reference evaluator (test/rankn.test.ts).
 */
export const rankPrograms: readonly { readonly name: string; readonly source: string }[] = [
  { name: "sum-axis-0", source: "param W[3, 4]\nloss = sum(sum(W, axis=0)^2)\n" },
  {
    name: "sum-axis-1-keepdims",
    source: "param W[3, 4]\ninput X[3, 4]\nloss = sum((W - sum(W * X, axis=1, keepdims=true))^2)\n",
  },
  { name: "sum-axes-rank3", source: "param T[2, 3, 4]\nloss = sum(sin(sum(T, axis=[0, 2])))\n" },
  { name: "sum-negative-axis", source: "param T[2, 3, 4]\nloss = sum(tanh(sum(T, axis=-2)))\n" },
  {
    name: "mean-var-rank4",
    source: "param T[2, 2, 3, 2]\nloss = sum(var(T, axis=[0, 2, 3])) + mean(T^2, axis=1)[0, 1, 1]\n",
  },
  {
    name: "layer-norm-by-hand",
    source:
      "param H[4, 5], g[5], b[5]\nloss = sum(tanh(g * (H - mean(H, axis=-1, keepdims=true)) / sqrt(var(H, axis=-1, keepdims=true) + 0.00001) + b))\n",
  },
  { name: "max-axis", source: "param W[3, 4]\nloss = sum(max(W, axis=1)) + min(W)\n" },
  { name: "max-keepdims-rank3", source: "param T[2, 3, 2]\nloss = sum(exp(T - max(T, axis=1, keepdims=true)))\n" },
  {
    name: "softmax-axis-0",
    source: "param W[3, 4]\ninput Y[3, 4]\nloss = sum(Y * log_softmax(W, axis=0)) + sum(softmax(W, axis=0)^2)\n",
  },
  {
    name: "logsumexp-axis-keepdims",
    source: "param T[2, 3, 4]\nloss = sum(logsumexp(T, axis=1, keepdims=true) * T)\n",
  },
  {
    name: "rank3-elementwise-broadcast",
    source: "param T[2, 3, 4], b[3, 1], c[4]\nloss = sum(sigmoid(T * b + c)^2)\n",
  },
  { name: "rank5", source: "param T[2, 1, 2, 3, 2], s[2, 1, 1]\nloss = sum(tanh(T + s) * T)\n" },
  {
    name: "zeros-ones-full",
    source: "param w[3]\nh0 = zeros(3)\nh1 = tanh(w + h0) + ones([3]) * full([3], 2 * w[0])\nloss = sum(h1^2)\n",
  },
  { name: "eye-arange", source: "param W[3, 3]\nloss = sum((W - eye(3))^2) + sum(W[0] * arange(3))\n" },
  { name: "tril-triu", source: "param W[4, 4]\nloss = sum(tril(W)^2) + sum(triu(W, k=1) * W)\n" },
  {
    name: "reshape-flatten",
    source:
      "param T[2, 3, 4], v[12]\nloss = sum(flatten(T, start=1) * reshape(v, [1, -1])) + sum(reshape(T, [4, 6])^3)\n",
  },
  {
    name: "transpose-perm",
    source: "param T[2, 3, 4], U[4, 2, 3]\nloss = sum(transpose(T, [2, 0, 1]) * U) + sum(transpose(T)^2)\n",
  },
  {
    name: "index-and-slice",
    source: "param W[4, 5]\nloss = sum(W[1]^2) + sum(W[:, 1:4]^3) + W[-1, -1] + sum(W[::2, ::-2])\n",
  },
  { name: "slice-steps-rank3", source: "param T[3, 4, 5]\nloss = sum(T[1:, ::2, 1:5:3]^2) + sum(T[:, :, 0])\n" },
  {
    name: "concat-stack",
    source: "param a[2, 3], b[2, 2], c[3]\nloss = sum(tanh(concat(a, b, axis=1))^2) + sum(stack(c, c^2, axis=1)^2)\n",
  },
  {
    name: "compare-where",
    source: "param w[5]\ninput x[5]\nloss = sum(where(x > 0, w^2, -w)) + sum((w >= x) * w) + sum((w == w) * w)\n",
  },
  { name: "where-guarded-branch", source: "param w[4]\nloss = sum(where(w > 0, sqrt(w), 0))\n" },
  { name: "batched-matmul", source: "param A[2, 3, 4], B[2, 4, 5]\nloss = sum(tanh(A @ B))\n" },
  { name: "matmul-broadcast-batch", source: "param A[3, 4], B[2, 4, 5], v[5]\nloss = sum((A @ B) @ v)\n" },
  { name: "einsum-matmul", source: 'param A[3, 4], B[4, 2]\nloss = sum(einsum("ij,jk->ik", A, B)^2)\n' },
  { name: "einsum-trace-diag", source: 'param A[3, 3]\nloss = einsum("ii->", A) + sum(einsum("ii->i", A)^2)\n' },
  { name: "einsum-three", source: 'param A[2, 3], B[3, 4], C[4]\nloss = sum(einsum("ij,jk,k->i", A, B, C)^2)\n' },
  {
    name: "einsum-attention",
    source: 'param Q[4, 2, 3], K[4, 2, 3]\nS = einsum("thd,shd->hts", Q, K)\nloss = sum(softmax(S, axis=-1) * S)\n',
  },
  {
    name: "activations",
    source:
      "param w[6]\nloss = sum(leaky_relu(w, slope=0.1) + elu(w) + gelu(w) + silu(w) + erf(w) + square(w) + sign(w) * w)\n",
  },
  { name: "log1p-expm1-clip", source: "param w[5]\nloss = sum(log1p(w^2) + expm1(w) + clip(w, -0.5, 0.5)^2)\n" },
  { name: "bce", source: "param w[4], b\ninput X[6, 4], y[6]\nloss = bce(sigmoid(X @ w + b), y)\n" },
  { name: "bce-with-logits", source: "param w[4], b\ninput X[6, 4], y[6]\nloss = bce_with_logits(X @ w + b, y)\n" },
  { name: "huber", source: "param w[3]\ninput X[8, 3], y[8]\nloss = huber(X @ w, y, delta=0.5)\n" },
  {
    name: "causal-mask",
    source: "param S[4, 4]\nloss = sum(softmax(where(tril(ones([4, 4])) > 0, S, -1000000000)) * S)\n",
  },
  {
    name: "edge-axes-and-bounds",
    source:
      "param x[2, 3], v[4]\nloss = sum(max(x, axis=[])^2) + sum(mean(x, axis=[0, 0, 1])) + sum(v[-10:10:3]^2) + sum(v[10:-10:-1] * v)\n",
  },
  {
    name: "attention-heads",
    source:
      "param Q[2, 3, 4], K[2, 3, 4], V[2, 3, 4], W[4, 5]\ninput X[2, 3, 4]\nS = Q @ transpose(K, [0, 2, 1]) / 2\nloss = sum(tanh((softmax(S) @ V + X) @ W)) + sum(transpose(Q, [0, 2, 1]) @ K)\n",
  },
  {
    name: "einsum-products-any-order",
    source: 'param A[3, 2, 4], B[2, 5, 4]\nloss = sum(sin(einsum("ibj,bkj->kbi", A, B)))\n',
  },
  { name: "matmul-batch-of-one-broadcasts", source: "param A[1, 3, 4], B[5, 4, 2]\nloss = sum(sin(A @ B))\n" },
  // user functions (def), inlined at each call
  {
    name: "def-rnn-from-zeros",
    source:
      "const T = 4\nparam Wx[3, 2], Wh[3, 3], b[3], Wo[2, 3]\ninput x[2], y[2]\ndef cell(x, h, W, U, b) = tanh(W @ x + U @ h + b)\nh{0} = zeros(3)\nfor t in 1..T {\n  h{t} = cell(x * t, h{t-1}, Wx, Wh, b)\n}\nloss = mse(Wo @ h{T}, y)\n",
  },
  {
    name: "def-lstm-two-results",
    source:
      "param W[8, 4], b[8]\ninput x[2]\ndef lstm(x, h, c, W, b) {\n  z = W @ concat(x, h) + b\n  i = sigmoid(z[0:2])\n  f = sigmoid(z[2:4])\n  o = sigmoid(z[4:6])\n  g = tanh(z[6:8])\n  c2 = f * c + i * g\n  return o * tanh(c2), c2\n}\nh{0} = zeros(3)[0:2]\nc{0} = zeros(2)\nfor t in 1..3 {\n  h{t}, c{t} = lstm(x * t, h{t-1}, c{t-1}, W, b)\n}\nloss = sum(h{3}^2) + sum(c{3})\n",
  },
  {
    name: "def-defaults-and-keywords",
    source:
      "param W[3, 4], v[4]\ndef dense(x, W, slope=0.1, scale=1) = scale * leaky_relu(W @ x, slope=slope)\nloss = sum(dense(v, W)) + sum(dense(v, W, slope=0.5, scale=2)^2)\n",
  },
  {
    name: "def-calls-def-polymorphic",
    source:
      "param a[3], B[2, 3]\ndef sq(x) = x * x\ndef norm2(x) = sum(sq(x))\ndef block(x, W) {\n  h = tanh(W @ x)\n  return norm2(h) + norm2(x)\n}\nloss = block(a, B) + norm2(B) + sq(sum(a))\n",
  },
  {
    name: "def-residual-block",
    source:
      "param W1[4, 4], b1[4], W2[4, 4], b2[4]\ninput x[4]\ndef dense(x, W, b) = relu(W @ x + b)\ndef block(x, W1, b1, W2, b2) {\n  h = dense(x, W1, b1)\n  return x + W2 @ h + b2\n}\nloss = sum(block(block(x, W1, b1, W2, b2), W1, b1, W2, b2)^2)\n",
  },
  // integer inputs: gathers (embeddings) and integer labels; random ids repeat, so scatter-adds accumulate
  {
    name: "embedding-bag",
    source:
      "param E[10, 4], W[3, 4], b[3]\ninput ids[6]: int, label: int\nbag = mean(E[ids], axis=0)\nloss = cross_entropy(W @ bag + b, label)\n",
  },
  {
    name: "cross-entropy-rows",
    source: "param W[4, 3], b[3]\ninput X[5, 4], labels[5]: int\nloss = cross_entropy(X @ W + b, labels)\n",
  },
  {
    name: "take-axis-1-rank2-ids",
    source: "param T[2, 5, 3]\ninput ids[2, 2]: int\nloss = sum(sin(take(T, ids, axis=1)))\n",
  },
  { name: "take-negative-axis-scalar-id", source: "param T[3, 4]\ninput k: int\nloss = sum(take(T, k, axis=-1)^2)\n" },
  {
    name: "char-rnn-embedding",
    source:
      "const T = 4\nparam E[6, 3], Wh[3, 3], Wo[6, 3]\ninput ids[5]: int\ndef step(e, h, U) = tanh(e + U @ h)\nh{0} = zeros(3)\nfor t in 1..T {\n  h{t} = step(E[ids[t - 1]], h{t-1}, Wh)\n}\nloss = cross_entropy(Wo @ h{T}, ids[T])\n",
  },
];
