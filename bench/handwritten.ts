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
 * relu + softmax cross-entropy over n samples (row-major), mean loss and mean gradients, as an
 * engineer trying to win writes it (each choice measured on this machine against the simpler
 * loop): one sample's forward pass four rows of W1 per pass over x (each x_t loaded once for
 * four products); a batch's forward pass in 2 × 2 register tiles (rows j, j+1 of W1 against
 * samples s, s+1 share every load), each row of W1 read once per batch; the weight gradients as
 * rows of the input added eight at a time (addRows), or, for one sample, an outer product four
 * rows per pass. A factory, so f64 and f32 each get their own, monomorphic function.
 */
const mlpFactory = <A extends Arr>() => {
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
  const addRows = makeAddRows();
  /** Z1 = W1 x + b1 and H = relu(Z1) for one sample: four rows of W1 per pass over x */
  function forward1(W1: Arr, b1: Arr, X: Arr, Z1: Arr, H: Arr): void {
    for (let j = 0; j < 128; j += 4) {
      const r = j * 784;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let t = 0; t < 784; t++) {
        const x = X[t];
        s0 += W1[r + t] * x;
        s1 += W1[r + 784 + t] * x;
        s2 += W1[r + 1568 + t] * x;
        s3 += W1[r + 2352 + t] * x;
      }
      const z0 = s0 + b1[j],
        z1 = s1 + b1[j + 1],
        z2 = s2 + b1[j + 2],
        z3 = s3 + b1[j + 3];
      Z1[j] = z0;
      Z1[j + 1] = z1;
      Z1[j + 2] = z2;
      Z1[j + 3] = z3;
      H[j] = z0 > 0 ? z0 : 0;
      H[j + 1] = z1 > 0 ? z1 : 0;
      H[j + 2] = z2 > 0 ? z2 : 0;
      H[j + 3] = z3 > 0 ? z3 : 0;
    }
  }
  /** the same for n samples (n even): rows j, j+1 of W1 against samples s, s+1, four loads for four products */
  function forwardTiled(W1: Arr, b1: Arr, X: Arr, n: number, Z1: Arr, H: Arr): void {
    for (let j = 0; j < 128; j += 2) {
      const r0 = j * 784,
        r1 = r0 + 784;
      for (let s = 0; s < n; s += 2) {
        const x0 = s * 784,
          x1 = x0 + 784;
        let s00 = 0,
          s01 = 0,
          s10 = 0,
          s11 = 0;
        for (let t = 0; t < 784; t++) {
          const w0 = W1[r0 + t],
            w1 = W1[r1 + t],
            a0 = X[x0 + t],
            a1 = X[x1 + t];
          s00 += w0 * a0;
          s01 += w0 * a1;
          s10 += w1 * a0;
          s11 += w1 * a1;
        }
        const zs = [s00 + b1[j], s10 + b1[j + 1], s01 + b1[j], s11 + b1[j + 1]];
        const at = [s * 128 + j, s * 128 + j + 1, (s + 1) * 128 + j, (s + 1) * 128 + j + 1];
        for (let q = 0; q < 4; q++) {
          Z1[at[q]] = zs[q];
          H[at[q]] = zs[q] > 0 ? zs[q] : 0;
        }
      }
    }
  }
  return function mlp(p: Mlp<A>, X: A, Y: A, n: number, g: Mlp<A>, ws: ReturnType<typeof mlpWorkspace<A>>): number {
    const { W1, b1, W2, b2 } = p;
    const { Z1, H, Z2, D2, D1 } = ws;
    const gW1 = g.W1,
      gb1 = g.b1,
      gW2 = g.W2,
      gb2 = g.b2;
    // forward: Z1 = X W1^T + b1, H = relu(Z1), Z2 = H W2^T + b2
    if (n === 1) forward1(W1, b1, X, Z1, H);
    else if (n % 2 === 0) forwardTiled(W1, b1, X, n, Z1, H);
    else
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
    for (let i = 0; i < 10; i++) addRows(gW2, i * 128, D2, i, 10, H, 0, n, 128, 1 / n);
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
      // one sample: the gradient is an outer product, four rows per pass over x
      for (let i = 0; i < 128; i += 4) {
        const a0 = D1[i],
          a1 = D1[i + 1],
          a2 = D1[i + 2],
          a3 = D1[i + 3],
          r = i * 784;
        for (let t = 0; t < 784; t++) {
          const x = X[t],
            q = r + t;
          gW1[q] = a0 * x;
          gW1[q + 784] = a1 * x;
          gW1[q + 1568] = a2 * x;
          gW1[q + 2352] = a3 * x;
        }
      }
      return loss;
    }
    for (let i = 0; i < 128; i++) addRows(gW1, i * 784, D1, i, 128, X, 0, n, 784, 1 / n);
    // the weight gradients are scaled as they are summed (addRows' k)
    const scale = 1 / n;
    for (let i = 0; i < gb1.length; i++) gb1[i] *= scale;
    for (let i = 0; i < gb2.length; i++) gb2[i] *= scale;
    return loss * scale;
  };
};

/**
 * y[yo + j] = k sum_{t < n} a[ao + t as] B[bo + t c + j] for j < c: eight rows of B added per pass
 * over y (one load and store of y_j for eight multiply-adds; four measured 1.3× slower), the
 * rows past a multiple of eight one at a time. The weight gradients of a batch (Xᵀ D) and the
 * x @ W layout's forward pass are all this; k (a batch's 1/n) scales the a's as they are loaded,
 * so no pass over y is spent on it. A factory, so each dtype gets its own copy.
 */
function makeAddRows() {
  return function addRows(
    y: Arr,
    yo: number,
    a: Arr,
    ao: number,
    as: number,
    B: Arr,
    bo: number,
    n: number,
    c: number,
    k = 1,
  ) {
    for (let j = 0; j < c; j++) y[yo + j] = 0;
    let t = 0;
    for (; t + 8 <= n; t += 8) {
      const p = ao + t * as;
      const a0 = a[p] * k,
        a1 = a[p + as] * k,
        a2 = a[p + 2 * as] * k,
        a3 = a[p + 3 * as] * k,
        a4 = a[p + 4 * as] * k,
        a5 = a[p + 5 * as] * k,
        a6 = a[p + 6 * as] * k,
        a7 = a[p + 7 * as] * k;
      const r = bo + t * c;
      for (let j = 0; j < c; j++) {
        const q = r + j;
        y[yo + j] +=
          a0 * B[q] +
          a1 * B[q + c] +
          a2 * B[q + 2 * c] +
          a3 * B[q + 3 * c] +
          a4 * B[q + 4 * c] +
          a5 * B[q + 5 * c] +
          a6 * B[q + 6 * c] +
          a7 * B[q + 7 * c];
      }
    }
    for (; t < n; t++) {
      const v = a[ao + t * as] * k,
        r = bo + t * c;
      for (let j = 0; j < c; j++) y[yo + j] += v * B[r + j];
    }
  };
}

/**
 * The x @ W layout on a batch (X[n, 784] @ W1[784, 128]), mean loss and gradients, written to
 * win the same way: every product is rows of a matrix added eight at a time (addRows): each
 * sample's hidden layer from the rows of W1, the weight gradients W1ᵀ-free as Xᵀ D1 and Hᵀ D2.
 */
const mlpXWBatchFactory = <A extends Arr>() => {
  const addRows = makeAddRows();
  return function mlpXWBatch(
    p: Mlp<A>,
    X: A,
    Y: A,
    n: number,
    g: Mlp<A>,
    ws: ReturnType<typeof mlpWorkspace<A>>,
  ): number {
    const { W1, b1, W2, b2 } = p;
    const { Z1, H, Z2, D2, D1 } = ws;
    const gW1 = g.W1,
      gb1 = g.b1,
      gW2 = g.W2,
      gb2 = g.b2;
    let loss = 0;
    gb2.fill(0);
    for (let s = 0; s < n; s++) {
      const h = s * 128,
        o = s * 10;
      addRows(Z1, h, X, s * 784, 1, W1, 0, 784, 128);
      for (let j = 0; j < 128; j++) {
        const z = Z1[h + j] + b1[j];
        Z1[h + j] = z;
        H[h + j] = z > 0 ? z : 0;
      }
      addRows(Z2, o, H, h, 1, W2, 0, 128, 10);
      let m = -Infinity;
      for (let i = 0; i < 10; i++) {
        const z = Z2[o + i] + b2[i];
        Z2[o + i] = z;
        if (z > m) m = z;
      }
      let sum = 0;
      for (let i = 0; i < 10; i++) sum += Math.exp(Z2[o + i] - m);
      const lse = m + Math.log(sum);
      for (let i = 0; i < 10; i++) {
        const y = Y[o + i];
        loss += lse * y - y * Z2[o + i];
        const d = Math.exp(Z2[o + i] - lse) - y;
        D2[o + i] = d;
        gb2[i] += d;
      }
      // d1 = (W2 d2) * relu'(z1), two partial sums per row of W2
      for (let t = 0; t < 128; t++) {
        const r = t * 10;
        let s0 = 0,
          s1 = 0;
        for (let i = 0; i < 10; i += 2) {
          s0 += W2[r + i] * D2[o + i];
          s1 += W2[r + i + 1] * D2[o + i + 1];
        }
        D1[h + t] = Z1[h + t] > 0 ? s0 + s1 : 0;
      }
    }
    // gW2 = Hᵀ D2, gW1 = Xᵀ D1: row t of each is the samples' rows of D weighted by column t
    for (let t = 0; t < 128; t++) addRows(gW2, t * 10, H, t, 128, D2, 0, n, 10, 1 / n);
    for (let t = 0; t < 784; t++) addRows(gW1, t * 128, X, t, 784, D1, 0, n, 128, 1 / n);
    gb1.fill(0);
    for (let s = 0; s < n; s++) for (let j = 0; j < 128; j++) gb1[j] += D1[s * 128 + j];
    // the weight gradients are scaled as they are summed (addRows' k)
    const scale = 1 / n;
    for (let i = 0; i < gb1.length; i++) gb1[i] *= scale;
    for (let i = 0; i < gb2.length; i++) gb2[i] *= scale;
    return loss * scale;
  };
};

/**
 * The same MLP in the layout JAX, Keras and batch-as-matrix code use (W1[784, 128], x @ W1 + b1),
 * one sample, written by someone trying to win (each choice measured on this machine against
 * its alternatives): eight rows of W1 per pass over the hidden layer (one load and store of z_j
 * for eight multiply-adds; four rows per pass measured 1.4× slower), starting from the bias;
 * the weight gradient x d1ᵀ four rows per pass (each d1_j loaded once
 * for four stores; row by row measured 2× slower); the backward pass's dot products over two
 * partial sums. A factory, as makeMlp.
 */
const mlpXWFactory = <A extends Arr>() =>
  function mlpXW(p: Mlp<A>, x: A, y: A, g: Mlp<A>, ws: ReturnType<typeof mlpWorkspace<A>>): number {
    const { W1, b1, W2, b2 } = p;
    const { Z1, H, Z2, D1 } = ws;
    const gW1 = g.W1,
      gb1 = g.b1,
      gW2 = g.W2,
      gb2 = g.b2;
    // z1 = x W1 + b1 (starts from the bias), then h = relu(z1)
    for (let j = 0; j < 128; j++) Z1[j] = b1[j];
    for (let t = 0; t < 784; t += 8) {
      const a0 = x[t],
        a1 = x[t + 1],
        a2 = x[t + 2],
        a3 = x[t + 3],
        a4 = x[t + 4],
        a5 = x[t + 5],
        a6 = x[t + 6],
        a7 = x[t + 7];
      const r = t * 128;
      for (let j = 0; j < 128; j++) {
        const q = r + j;
        Z1[j] +=
          a0 * W1[q] +
          a1 * W1[q + 128] +
          a2 * W1[q + 256] +
          a3 * W1[q + 384] +
          a4 * W1[q + 512] +
          a5 * W1[q + 640] +
          a6 * W1[q + 768] +
          a7 * W1[q + 896];
      }
    }
    // (ReLU in a pass of its own: 128 elements, against 100,352 multiply-adds)
    for (let j = 0; j < 128; j++) H[j] = Z1[j] > 0 ? Z1[j] : 0;
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
    // gW1 = x d1ᵀ, four rows per pass
    for (let t = 0; t < 784; t += 4) {
      const a0 = x[t],
        a1 = x[t + 1],
        a2 = x[t + 2],
        a3 = x[t + 3],
        r = t * 128;
      for (let j = 0; j < 128; j++) {
        const d = D1[j],
          q = r + j;
        gW1[q] = a0 * d;
        gW1[q + 128] = a1 * d;
        gW1[q + 256] = a2 * d;
        gW1[q + 384] = a3 * d;
      }
    }
    return loss;
  };

/**
 * A copy of a factory with code of its own. V8 keeps type feedback per function literal, shared
 * by every closure a factory makes from it, so the f32 and f64 instances of one factory would
 * make each other's element loads polymorphic (measured: the x @ W MLP's f64 step 86 -> 137 µs
 * once its f32 twin had run). Compiling the factory's source again gives each instance its own
 * literals; `deps` are the module-level functions the source names.
 */
function fresh<F extends (...args: never[]) => unknown>(factory: F, deps: Record<string, unknown> = {}): F {
  // (tsx's transform names functions through a helper, __name, that the new scope must have)
  const scope: Record<string, unknown> = { __name: (f: unknown) => f, ...deps };
  return new Function(...Object.keys(scope), `return (${factory.toString()});`)(...Object.values(scope)) as F;
}

/** The W @ x MLP (mlpFactory), its own code per call. */
export const makeMlp = <A extends Arr>() => fresh(mlpFactory, { makeAddRows: fresh(makeAddRows) })<A>();
/** The x @ W MLP for one sample (mlpXWFactory), its own code per call. */
export const makeMlpXW = <A extends Arr>() => fresh(mlpXWFactory)<A>();
/** The x @ W MLP on a batch (mlpXWBatchFactory), its own code per call. */
export const makeMlpXWBatch = <A extends Arr>() => fresh(mlpXWBatchFactory, { makeAddRows: fresh(makeAddRows) })<A>();
