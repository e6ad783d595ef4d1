/** The examples menu: the repository's own models, as the CLI's users have them. */
import lecture from "../examples/lecture.grad?raw";
import chain from "../examples/chain.grad?raw";
import chainRelu from "../examples/chain-relu.grad?raw";
import mlp from "../examples/mlp.grad?raw";
import mlpXw from "../examples/mlp-xw.grad?raw";
import iris from "../examples/iris/model.grad?raw";
import regression from "../examples/regression.grad?raw";
import autoencoder from "../examples/autoencoder.grad?raw";
import layernorm from "../examples/layernorm.grad?raw";
import rnn from "../examples/rnn.grad?raw";

export const examples: readonly { readonly name: string; readonly label: string; readonly source: string }[] = [
  { name: "lecture", label: "Lecture 4.6.1: f(w, b)", source: lecture },
  { name: "chain", label: "Lecture 4.3: a 50-layer sigmoid chain", source: chain },
  { name: "chain-relu", label: "The chain with ReLU", source: chainRelu },
  { name: "mlp", label: "MLP 784-128-10 (W @ x)", source: mlp },
  { name: "mlp-xw", label: "MLP, x @ W layout", source: mlpXw },
  { name: "iris", label: "Iris 4-16-3", source: iris },
  { name: "regression", label: "Linear regression on a batch", source: regression },
  { name: "autoencoder", label: "Tied-weight autoencoder (BCE + L2)", source: autoencoder },
  { name: "layernorm", label: "Layer norm", source: layernorm },
  { name: "rnn", label: "A tanh RNN (BPTT)", source: rnn },
];
