"""Benchmark B3: fidelity of an imported Keras-trained model.

Trains a KerasLMU psMNIST model briefly (the KerasLMU psMNIST recipe: one
``keras_lmu.LMU`` with ``memory_d=1``, ``theta=784`` steps, a SimpleRNNCell
hidden state reading the memory and the input, a Dense softmax readout),
imports it with `nengo_lmu.interop.network_from_keras` (``dt = 1 ms`` per
pixel, so ``theta = 0.784 s``), and runs the same test sequences through the
Keras model, the Nengo reference simulator and NengoDL. Prints the largest
difference between the Keras logits and the Nengo network's output at the
last step, and the accuracy of each.

    python tests/benchmarks/keras_fidelity.py [--quick]

The reference simulator runs one sequence of 784 steps at a time, so it is
given only the first ``--n-nengo`` test sequences (all of them in the full
run); its accuracy is over those, and the Keras accuracy on the same subset
is printed with it. ``--quick`` trains a smaller model (order 64, 50 units)
on 1,000 sequences and runs 100 sequences in the reference simulator (about
1.5 minutes on 2 cores).

The import itself is exact: with Keras in float64 the two agree to about
1e-13 over 784 steps. The differences printed (a few 1e-5 on logits of
order 1) are float32 rounding in Keras and NengoDL accumulated over 784
steps; the reference simulator computes in float64.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import numpy as np  # noqa: E402

from nengo_lmu.interop import network_from_keras  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

DT = 0.001
STEPS = 784


def train_keras(x, y, order, units, epochs, batch_size, seed):
    import keras_lmu  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((STEPS, 1)),
            keras_lmu.LMU(
                memory_d=1,
                order=order,
                theta=STEPS,
                hidden_cell=tf.keras.layers.SimpleRNNCell(units),
                hidden_to_memory=False,
                memory_to_memory=False,
                input_to_hidden=True,
                kernel_initializer="ones",
            ),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        tf.keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=2)
    return model


def keras_logits(model, x, batch_size):
    """The Keras model's output before the softmax."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    last = model.layers[-1]
    features = tf.keras.Model(model.inputs, last.input).predict(
        x, batch_size=batch_size, verbose=0
    )
    return features @ last.kernel.numpy() + last.bias.numpy()


def build_nengo(model):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1), label="pixels")
        imported = network_from_keras(model, dt=DT)
        nengo.Connection(stim, imported.input, synapse=None)
        probe = nengo.Probe(imported.output, synapse=None)
    return net, stim, probe


def run_reference(model, x):
    """Last-step logits of each sequence in nengo.Simulator (built once)."""
    net, stim, probe = build_nengo(model)
    current = {"x": x[0]}
    stim.output = lambda t: current["x"][min(int(round(t / DT)), STEPS) - 1]
    logits = []
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        for seq in x:
            sim.reset()
            current["x"] = seq
            sim.run_steps(STEPS)
            logits.append(sim.data[probe][-1])
    return np.array(logits)


def run_nengo_dl(model, x, batch_size):
    import nengo_dl  # pylint: disable=import-outside-toplevel

    net, stim, probe = build_nengo(model)
    with net:
        nengo_dl.configure_settings(stateful=False)
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=batch_size, progress_bar=False
    ) as sim:
        out = sim.predict({stim: x}, n_steps=STEPS)
    return out[probe][:, -1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller model, 1,000 training sequences, 100 "
        "sequences in the reference simulator",
    )
    parser.add_argument("--order", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--n-nengo",
        type=int,
        default=None,
        help="test sequences run in the reference simulator",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    order = args.order or (64 if args.quick else 256)
    units = args.units or (50 if args.quick else 212)
    n_train = args.n_train or (1000 if args.quick else 4000)
    n_nengo = args.n_nengo or (100 if args.quick else 1000)
    batch = 100  # training
    eval_batch = 500  # fewer, larger batches run faster in Keras and NengoDL

    (x_train, y_train), (x_test, y_test) = psmnist(
        n_train=n_train, n_test=1000, flat_labels=True
    )
    n_nengo = min(n_nengo, len(x_test))
    print(
        f"psMNIST: {len(x_train)} training, {len(x_test)} test sequences of "
        f"{STEPS} steps; LMU order {order}, SimpleRNNCell({units}), "
        f"{args.epochs} epoch(s)"
    )

    t0 = time.time()
    model = train_keras(x_train, y_train, order, units, args.epochs, batch, args.seed)
    print(f"trained in {time.time() - t0:.1f} s")

    t0 = time.time()
    ref = keras_logits(model, x_test, eval_batch)
    print(f"Keras: {time.time() - t0:.1f} s")
    t0 = time.time()
    dl = run_nengo_dl(model, x_test, eval_batch)
    print(f"NengoDL ({len(x_test)} sequences): {time.time() - t0:.1f} s")
    t0 = time.time()
    nengo_out = run_reference(model, x_test[:n_nengo])
    print(f"nengo.Simulator ({n_nengo} sequences): {time.time() - t0:.1f} s")

    def acc(logits, labels):
        return float(np.mean(np.argmax(logits, axis=-1) == labels))

    diff_dl = float(np.max(np.abs(dl - ref)))
    diff_nengo = float(np.max(np.abs(nengo_out - ref[:n_nengo])))
    print(
        f"max |logit difference|: nengo.Simulator {diff_nengo:.3g} "
        f"(on {n_nengo}), NengoDL {diff_dl:.3g} (on {len(x_test)}); "
        f"largest |logit| {np.max(np.abs(ref)):.3g}"
    )
    print(
        f"Keras accuracy on the {n_nengo} reference-simulator sequences: "
        f"{acc(ref[:n_nengo], y_test[:n_nengo]):.3f}; predictions that differ: "
        f"nengo.Simulator "
        f"{int(np.sum(nengo_out.argmax(-1) != ref[:n_nengo].argmax(-1)))}, "
        f"NengoDL {int(np.sum(dl.argmax(-1) != ref.argmax(-1)))}"
    )
    print(
        f"RESULT benchmark=B3 max_abs_diff={max(diff_dl, diff_nengo):.3g} "
        f"acc_keras={acc(ref, y_test):.4f} "
        f"acc_nengo={acc(nengo_out, y_test[:n_nengo]):.4f} "
        f"acc_nengo_dl={acc(dl, y_test):.4f} max_abs_diff_nengo={diff_nengo:.3g} "
        f"max_abs_diff_nengo_dl={diff_dl:.3g} n_nengo={n_nengo} n_test={len(x_test)}"
    )


if __name__ == "__main__":
    main()
