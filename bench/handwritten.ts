/**
 * The bar: gradients written by hand as fused loops, the way a careful engineer would, with
 * preallocated buffers. gradc's generated code is measured against these.
 */
type Arr = Float64Array | Float32Array;

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Every bar takes the same interface as gradc's generated module (params and inputs by name, the
 * result written into `out`), so the comparison measures the code, not the calling convention.
 */
export interface Result {
  loss: number;
  grads: Record<string, number | Float64Array | Float32Array>;
}

/** lecture 4.6.1: f = 1/2 (σ(wx + b) − y)^2 + 1/2 w^2 */
export function lecture(
  p: { w: number; b: number },
  i: { x: number; y: number },
  out: { loss: number; grads: { w: number; b: number } },
): void {
  const w = p.w,
    b = p.b,
    x = i.x,
    y = i.y;
  const s = sigmoid(w * x + b);
  const d = s - y;
  out.loss = 0.5 * d * d + 0.5 * w * w;
  const dz = d * s * (1 - s);
  out.grads.b = dz;
  out.grads.w = dz * x + w;
}

/** lecture 4.3: h_k = σ(w_k h_{k-1} + b_k), f = 1/2 (h_L − y)^2; params named w_1..w_L, b_1..b_L */
export function makeChain(L: number) {
  const wk = Array.from({ length: L }, (_, k) => `w_${k + 1}`);
  const bk = Array.from({ length: L }, (_, k) => `b_${k + 1}`);
  const w = new Float64Array(L),
    b = new Float64Array(L),
    h = new Float64Array(L + 1),
    gw = new Float64Array(L),
    gb = new Float64Array(L);
  return (
    p: Record<string, number>,
    i: { x: number; y: number },
    out: { loss: number; grads: Record<string, number> },
  ): void => {
    for (let k = 0; k < L; k++) {
      w[k] = p[wk[k]];
      b[k] = p[bk[k]];
    }
    out.loss = chain(w, b, i.x, i.y, h, gw, gb);
    const g = out.grads;
    for (let k = 0; k < L; k++) {
      g[wk[k]] = gw[k];
      g[bk[k]] = gb[k];
    }
  };
}

function chain(
  w: Float64Array,
  b: Float64Array,
  x: number,
  y: number,
  h: Float64Array,
  gw: Float64Array,
  gb: Float64Array,
): number {
  const L = w.length;
  h[0] = x;
  for (let k = 0; k < L; k++) h[k + 1] = sigmoid(w[k] * h[k] + b[k]);
  const d = h[L] - y;
  let dh = d;
  for (let k = L - 1; k >= 0; k--) {
    const s = h[k + 1];
    const dz = dh * s * (1 - s);
    gw[k] = dz * h[k];
    gb[k] = dz;
    dh = dz * w[k];
  }
  return 0.5 * d * d;
}

export interface Mlp<A extends Arr> {
  W1: A;
  b1: A;
  W2: A;
  b2: A;
}

/** workspace for up to `n` samples of the 784-128-10 MLP */
export function mlpWorkspace<A extends Arr>(make: (n: number) => A, n = 32) {
  return {
    Z1: make(n * 128),
    H: make(n * 128),
    Z2: make(n * 10),
    D2: make(n * 10),
    D1: make(n * 128),
    T: make(n * 128),
  };
}

/**
 * relu + softmax cross-entropy over n samples (row-major), mean loss and mean gradients, as a
 * careful engineer writes it: the batch as matrices, each row of W1 read once per batch and
 * dotted with every sample (4 partial sums), the weight gradient accumulated row by row so
 * it stays in cache. A factory, so f64 and f32 each get their own, monomorphic function.
 */
export const makeMlp = <A extends Arr>() => {
  /** sum_t a[ao + t] b[bo + t] over t < len, with four partial sums */
  function dot(a: Arr, ao: number, b: Arr, bo: number, len: number): number {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    let t = 0;
    for (; t + 3 < len; t += 4) {
      s0 += a[ao + t] * b[bo + t];
      s1 += a[ao + t + 1] * b[bo + t + 1];
      s2 += a[ao + t + 2] * b[bo + t + 2];
      s3 += a[ao + t + 3] * b[bo + t + 3];
    }
    for (; t < len; t++) s0 += a[ao + t] * b[bo + t];
    return s0 + s1 + s2 + s3;
  }
  return function mlp(p: Mlp<A>, X: A, Y: A, n: number, g: Mlp<A>, ws: ReturnType<typeof mlpWorkspace<A>>): number {
    const { W1, b1, W2, b2 } = p;
    const { Z1, H, Z2, D2, D1 } = ws;
    const gW1 = g.W1,
      gb1 = g.b1,
      gW2 = g.W2,
      gb2 = g.b2;
    // forward: Z1 = X W1^T + b1, H = relu(Z1), Z2 = H W2^T + b2
    for (let j = 0; j < 128; j++) {
      const bj = b1[j];
      for (let s = 0; s < n; s++) {
        const z = dot(W1, j * 784, X, s * 784, 784) + bj;
        Z1[s * 128 + j] = z;
        H[s * 128 + j] = z > 0 ? z : 0;
      }
    }
    let loss = 0;
    gb2.fill(0);
    for (let s = 0; s < n; s++) {
      let m = -Infinity;
      for (let i = 0; i < 10; i++) {
        const z = dot(W2, i * 128, H, s * 128, 128) + b2[i];
        Z2[s * 10 + i] = z;
        if (z > m) m = z;
      }
      let sum = 0;
      for (let i = 0; i < 10; i++) sum += Math.exp(Z2[s * 10 + i] - m);
      const lse = m + Math.log(sum);
      for (let i = 0; i < 10; i++) {
        const y = Y[s * 10 + i];
        loss += lse * y - y * Z2[s * 10 + i];
        const d = Math.exp(Z2[s * 10 + i] - lse) - y;
        D2[s * 10 + i] = d;
        gb2[i] += d;
      }
    }
    // backward: gW2 = D2^T H, D1 = (D2 W2) * relu'(Z1), gW1 = D1^T X
    gW2.fill(0);
    for (let i = 0; i < 10; i++) {
      for (let s = 0; s < n; s++) {
        const d = D2[s * 10 + i];
        const r = i * 128,
          h = s * 128;
        for (let t = 0; t < 128; t++) gW2[r + t] += d * H[h + t];
      }
    }
    gb1.fill(0);
    for (let s = 0; s < n; s++) {
      for (let t = 0; t < 128; t++) {
        let acc = 0;
        for (let i = 0; i < 10; i++) acc += D2[s * 10 + i] * W2[i * 128 + t];
        const d = Z1[s * 128 + t] > 0 ? acc : 0;
        D1[s * 128 + t] = d;
        gb1[t] += d;
      }
    }
    if (n === 1) {
      // one sample: the gradient is an outer product, written once
      for (let i = 0; i < 128; i++) {
        const a = D1[i],
          r = i * 784;
        for (let t = 0; t < 784; t++) gW1[r + t] = a * X[t];
      }
      return loss;
    }
    for (let i = 0; i < 128; i++) {
      const r = i * 784;
      for (let t = 0; t < 784; t++) gW1[r + t] = 0;
      let s = 0;
      for (; s + 1 < n; s += 2) {
        const a0 = D1[s * 128 + i],
          a1 = D1[(s + 1) * 128 + i];
        const x0 = s * 784,
          x1 = x0 + 784;
        for (let t = 0; t < 784; t++) gW1[r + t] += a0 * X[x0 + t] + a1 * X[x1 + t];
      }
      if (s < n) {
        const a = D1[s * 128 + i],
          x0 = s * 784;
        for (let t = 0; t < 784; t++) gW1[r + t] += a * X[x0 + t];
      }
    }
    const scale = 1 / n;
    for (let i = 0; i < gW1.length; i++) gW1[i] *= scale;
    for (let i = 0; i < gb1.length; i++) gb1[i] *= scale;
    for (let i = 0; i < gW2.length; i++) gW2[i] *= scale;
    for (let i = 0; i < gb2.length; i++) gb2[i] *= scale;
    return loss * scale;
  };
};

/**
 * The same MLP in the layout JAX, Keras and batch-as-matrix code use (W1[784, 128], x @ W1 + b1),
 * one sample, written by someone trying to win: four rows of W1 per pass over the hidden layer
 * (one load and store of z_j for four multiply-adds), bias and ReLU fused into the last pass,
 * the backward pass's dot products over four partial sums. A factory, as makeMlp.
 */
export const makeMlpXW = <A extends Arr>() =>
  function mlpXW(p: Mlp<A>, x: A, y: A, g: Mlp<A>, ws: ReturnType<typeof mlpWorkspace<A>>): number {
    const { W1, b1, W2, b2 } = p;
    const { Z1, H, Z2, D1 } = ws;
    const gW1 = g.W1,
      gb1 = g.b1,
      gW2 = g.W2,
      gb2 = g.b2;
    // z1 = x W1 + b1 (starts from the bias), h = relu(z1) in the last pass
    for (let j = 0; j < 128; j++) Z1[j] = b1[j];
    for (let t = 0; t < 780; t += 4) {
      const a0 = x[t],
        a1 = x[t + 1],
        a2 = x[t + 2],
        a3 = x[t + 3];
      const r0 = t * 128,
        r1 = r0 + 128,
        r2 = r1 + 128,
        r3 = r2 + 128;
      for (let j = 0; j < 128; j++) Z1[j] += a0 * W1[r0 + j] + a1 * W1[r1 + j] + a2 * W1[r2 + j] + a3 * W1[r3 + j];
    }
    {
      const a0 = x[780],
        a1 = x[781],
        a2 = x[782],
        a3 = x[783];
      for (let j = 0; j < 128; j++) {
        const z = Z1[j] + a0 * W1[99840 + j] + a1 * W1[99968 + j] + a2 * W1[100096 + j] + a3 * W1[100224 + j];
        Z1[j] = z;
        H[j] = z > 0 ? z : 0;
      }
    }
    // z2 = h W2 + b2, four rows of W2 per pass
    for (let i = 0; i < 10; i++) Z2[i] = b2[i];
    for (let t = 0; t < 128; t += 4) {
      const a0 = H[t],
        a1 = H[t + 1],
        a2 = H[t + 2],
        a3 = H[t + 3];
      const r0 = t * 10;
      for (let i = 0; i < 10; i++)
        Z2[i] += a0 * W2[r0 + i] + a1 * W2[r0 + 10 + i] + a2 * W2[r0 + 20 + i] + a3 * W2[r0 + 30 + i];
    }
    // softmax cross-entropy: gb2 = softmax(z2) - y
    let m = -Infinity;
    for (let i = 0; i < 10; i++) if (Z2[i] > m) m = Z2[i];
    let sum = 0;
    for (let i = 0; i < 10; i++) sum += Math.exp(Z2[i] - m);
    const lse = m + Math.log(sum);
    let loss = 0;
    for (let i = 0; i < 10; i++) {
      loss += lse * y[i] - y[i] * Z2[i];
      gb2[i] = Math.exp(Z2[i] - lse) - y[i];
    }
    // gW2 = h gb2ᵀ; d1 = (W2 gb2) * relu'(z1), four partial sums per row of W2
    for (let t = 0; t < 128; t++) {
      const r = t * 10,
        h = H[t];
      let s0 = 0,
        s1 = 0;
      for (let i = 0; i < 10; i += 2) {
        const d0 = gb2[i],
          d1 = gb2[i + 1];
        gW2[r + i] = h * d0;
        gW2[r + i + 1] = h * d1;
        s0 += W2[r + i] * d0;
        s1 += W2[r + i + 1] * d1;
      }
      const d = Z1[t] > 0 ? s0 + s1 : 0;
      D1[t] = d;
      gb1[t] = d;
    }
    // gW1 = x d1ᵀ, row by row
    for (let t = 0; t < 784; t++) {
      const a = x[t],
        r = t * 128;
      for (let j = 0; j < 128; j++) gW1[r + j] = a * D1[j];
    }
    return loss;
  };
