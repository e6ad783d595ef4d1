/** Loop variables of N-D loop nests: i0, i1, ... for element loops, q0, q1, ... for kernels. */
export const elementVar = (k: number) => `i${k}`;
export const kernelVar = (k: number) => `q${k}`;
export const ndLocals = Array.from({ length: 16 }, (_, k) => [elementVar(k), kernelVar(k)]).flat();
