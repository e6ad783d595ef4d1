// Optimizers the examples train with: backprop (the generated module) computes gradients, these
// turn them into steps. Params and gradients are records of flat arrays with the same keys.
export type Tensors = { readonly [name: string]: Float64Array };

/**
 * Adam (Kingma and Ba): bias-corrected first and second moments of the gradient. `lr` is a number,
 * or a function read at every step (a schedule).
 */
export function adam(lr: number | (() => number), b1 = 0.9, b2 = 0.999, eps = 1e-8) {
  const m = new Map<string, Float64Array>(),
    s = new Map<string, Float64Array>();
  return (p: Tensors, g: Tensors, t: number): void => {
    const rate = typeof lr === "number" ? lr : lr();
    for (const k of Object.keys(p)) {
      const theta = p[k],
        grad = g[k];
      const mk = m.get(k) ?? m.set(k, new Float64Array(theta.length)).get(k)!;
      const sk = s.get(k) ?? s.set(k, new Float64Array(theta.length)).get(k)!;
      for (let i = 0; i < theta.length; i++) {
        mk[i] = b1 * mk[i] + (1 - b1) * grad[i];
        sk[i] = b2 * sk[i] + (1 - b2) * grad[i] * grad[i];
        theta[i] -= (rate * (mk[i] / (1 - b1 ** t))) / (Math.sqrt(sk[i] / (1 - b2 ** t)) + eps);
      }
    }
  };
}
