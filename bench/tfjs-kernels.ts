/**
 * TF.js's wasm backend has no Conv2DBackpropFilter kernel, so it cannot differentiate a
 * convolution by its filters (LeNet-5's training step fails on it). The bench registers one,
 * written from the backend's own Conv2D, so that TF.js wasm runs LeNet-5 as a peer.
 */
import * as tf from "@tensorflow/tfjs";

// Conv2DBackpropFilter for the wasm backend, from its own Conv2D: dW[kh, kw, c, f] =
// Σ_{n, oh, ow} x̃[n, s·oh + kh, s·ow + kw, c] dy[n, oh, ow, f], a convolution of x̃ (channels
// as the batch) with dy (the batch as channels) as the filter, its stride as the dilation
export function registerConv2DBackpropFilter(): void {
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad } = attrs as unknown as { strides: [number, number] | number; pad: unknown };
      const { dilations } = attrs as unknown as { dilations?: number | [number, number] };
      if (!(Array.isArray(pad) || pad === "valid") || ![dilations ?? 1].flat().every((d) => d === 1))
        throw new Error("this Conv2DBackpropFilter takes valid or explicit padding and no dilation");
      const s = typeof strides === "number" ? [strides, strides] : strides;
      const out = tf.tidy(() => {
        const xt = tf.engine().makeTensorFromTensorInfo(x) as tf.Tensor4D;
        const dyt = tf.engine().makeTensorFromTensorInfo(dy) as tf.Tensor4D;
        const padded = Array.isArray(pad) ? tf.pad(xt, pad as [number, number][]) : xt;
        const w = tf.conv2d(
          padded.transpose([3, 1, 2, 0]) as tf.Tensor4D,
          dyt.transpose([1, 2, 0, 3]) as tf.Tensor4D,
          1,
          "valid",
          "NHWC",
          s as [number, number],
        );
        return w.transpose([1, 2, 0, 3]);
      });
      // the result in a tensor of the backend's own (the ops' tensors are freed with this scope)
      const wasm = backend as unknown as {
        makeOutput(shape: number[], dtype: string): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const info = wasm.makeOutput(out.shape, "float32");
      wasm.typedArrayFromHeap(info).set(out.dataSync());
      out.dispose();
      return info;
    },
  });
}
