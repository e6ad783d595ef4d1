/** Small builders of WAT text that the WebAssembly kernels share. */

export interface Lane {
  /** f64: 8 bytes, 2 lanes; f32: 4 bytes, 4 lanes */
  readonly bytes: 4 | 8;
}

/** the scalar type, the vector shape and the lanes per vector of a lane width */
export const t = (l: Lane): string => (l.bytes === 8 ? "f64" : "f32");
export const v = (l: Lane): string => (l.bytes === 8 ? "f64x2" : "f32x4");
export const lanes = (l: Lane): number => 16 / l.bytes;
/** a scalar load splatted to every lane, in one instruction */
export const splatLoad = (l: Lane): string => (l.bytes === 8 ? "v128.load64_splat" : "v128.load32_splat");

export const get = (x: string): string => `(local.get ${x})`;
export const i32 = (k: number): string => `(i32.const ${k})`;
export const add = (x: string, y: string): string => `(i32.add ${x} ${y})`;
export const mul = (x: string, y: string): string => `(i32.mul ${x} ${y})`;

/** the lanes of a vector combined by `op` (their sum, or their maximum, minimum) */
export function horizontal(l: Lane, x: string, op: "add" | "max" | "min" = "add"): string {
  const parts = Array.from({ length: lanes(l) }, (_, k) => `(${v(l)}.extract_lane ${k} ${get(x)})`);
  return parts.reduce((a, b) => `(${t(l)}.${op} ${a} ${b})`);
}

/** while (var < bound) { body; var += step } — var, bound and step as i32 expressions */
export function loop(name: string, from: string, bound: string, step: number, body: string): string {
  const label = name.slice(1);
  return `(local.set ${name} ${from})
  (block $${label}_done (loop $${label}_next
    (br_if $${label}_done (i32.ge_u ${get(name)} ${bound}))
    ${body}
    (local.set ${name} (i32.add ${get(name)} ${i32(step)}))
    (br $${label}_next)))`;
}
