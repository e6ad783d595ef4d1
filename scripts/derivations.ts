/**
 * The worked derivations docs/ holds, each with its graph: `npm run docs` writes them and
 * test/docs.test.ts checks that they are what gradc explain and gradc graph print today.
 */
export interface DocDerivation {
  readonly source: string;
  /** docs/<name>-derivation.md and docs/<name>-graph.svg */
  readonly name: string;
  /** --at: the point its values table is evaluated at (none: no table) */
  readonly at?: string;
}

export const derivations: readonly DocDerivation[] = [
  { source: "examples/lecture.grad", name: "lecture", at: "w=0.5,b=-1,x=2,y=1" },
  { source: "examples/mlp.grad", name: "mlp" },
  // a student's model (#12): a transpose (tied weights), an L2 term and binary cross-entropy
  { source: "examples/autoencoder.grad", name: "autoencoder", at: "random" },
  // attention's softmax Jacobian-vector product, layer norm, residuals (#14)
  { source: "examples/transformer.grad", name: "transformer" },
  // convolution by hand: the input correlated with δ, a full convolution of δ with the flipped kernel (#14)
  { source: "examples/lenet.grad", name: "lenet" },
  // a batch norm's closed form beside the convolutions of a skip connection (#14)
  { source: "examples/resnet-block.grad", name: "resnet-block" },
  // backpropagation through time: the recursion over t, an RNN's and an LSTM's (#14)
  { source: "examples/rnn.grad", name: "rnn" },
  { source: "examples/lstm.grad", name: "lstm" },
];
