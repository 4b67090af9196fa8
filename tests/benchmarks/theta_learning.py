"""Learned theta on a delay task: NengoLMU (NengoDL) and KerasLMU, zoh and euler.

The task: the target is the input 40 steps back; the LMU's memory (order 8,
no hidden cell, input kernel fixed at 1) starts with theta = 20 steps and a
linear readout of the memory (no bias) is trained with it, theta included.
NengoLMU and KerasLMU start from the same weights and see the same batches
(Adam, float32). Prints the learned theta in steps of each:

    python tests/benchmarks/theta_learning.py [--quick]

and a final ``RESULT keras_zoh=... nengo_zoh=... keras_euler=...
nengo_euler=...`` line (steps).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_lmu  # noqa: E402
import nengo  # noqa: E402
import nengo_dl  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training, lmu_weights  # noqa: E402

ORDER, THETA0, DELAY, DT = 8, 20, 40, 0.001


def delay_data(n, steps, seed):
    """Smooth random sequences (random walks through tanh); target: the input
    DELAY steps back."""
    rng = np.random.RandomState(seed)
    x = np.tanh(np.cumsum(rng.normal(scale=0.2, size=(n, steps, 1)), axis=1))
    y = np.zeros_like(x)
    y[:, DELAY:] = x[:, :-DELAY]
    return x.astype(np.float32), y.astype(np.float32)


def readout_init(seed):
    limit = np.sqrt(6 / (ORDER + 1))
    return np.random.RandomState(seed).uniform(-limit, limit, size=(ORDER, 1))


def keras_theta(discretizer, data, epochs, lr, batch, seed):
    x, y = data
    tf.keras.utils.set_random_seed(seed)
    cell = keras_lmu.LMUCell(
        1,
        ORDER,
        THETA0,
        None,
        discretizer=discretizer,
        trainable_theta=True,
        kernel_initializer="ones",
    )
    model = tf.keras.Sequential(
        [
            tf.keras.layers.RNN(cell, return_sequences=True, input_shape=(None, 1)),
            tf.keras.layers.Dense(1, use_bias=False),
        ]
    )
    model.layers[1].set_weights([readout_init(seed)])
    model.compile(optimizer=tf.optimizers.Adam(lr), loss="mse")
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    return float(cell.theta)


def nengo_theta(discretizer, data, epochs, lr, batch, seed):
    x, y = data
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(
            1,
            1,
            ORDER,
            THETA0 * DT,
            discretizer=discretizer,
            trainable_theta=True,
            kernel_initializer=np.ones((1, 1)),
            dt=DT,
            seed=seed,
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        out = nengo.Node(size_in=1)
        nengo.Connection(lmu.output, out, transform=readout_init(seed).T, synapse=None)
        probe = nengo.Probe(out, synapse=None)
    configure_training(net, keep_history=True)
    with nengo_dl.Simulator(
        net, minibatch_size=batch, dt=DT, progress_bar=False
    ) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(lr), loss=tf.losses.mse)
        sim.fit({stim: x}, {probe: y}, epochs=epochs, shuffle=False, verbose=0)
        return lmu_weights(sim, lmu)["theta"] / DT


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer sequences and epochs (under 2 minutes)",
    )
    args = parser.parse_args(argv)
    n, steps, epochs = (64, 100, 6) if args.quick else (256, 120, 20)
    lr, batch, seed = 0.01, 32, 0
    data = delay_data(n, steps, seed)
    results = {}
    for discretizer in ("zoh", "euler"):
        for name, train in (("keras", keras_theta), ("nengo", nengo_theta)):
            theta = train(discretizer, data, epochs, lr, batch, seed)
            results[f"{name}_{discretizer}"] = theta
            print(
                f"{name:5s} {discretizer:5s}: theta {THETA0} -> {theta:.2f} steps "
                f"(target delay {DELAY})",
                flush=True,
            )
    print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main()
