"""Benchmark B2: training speed of the LMU on psMNIST, NengoDL vs KerasLMU.

Trains the B2 model (one LMU, order 256, theta 784 steps, 212 tanh hidden
units, input-to-hidden and memory-to-hidden kernels, hidden recurrence, a
dense readout of 10 classes; Adam; minibatch 100) for one epoch with the
library's NengoDL path and with KerasLMU's ``RNN(LMUCell)`` on the same
psMNIST sequences, in one process, and prints the median time per training
batch after the first two (graph construction and warm-up), per sequence.

    python tests/benchmarks/training_speed.py [--quick] [--planner noop|tree]
        [--unroll N]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_lmu  # noqa: E402
import nengo  # noqa: E402
import nengo_dl  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training  # noqa: E402
from nengo_lmu.tasks import psmnist  # noqa: E402

ORDER, THETA_STEPS, UNITS, CLASSES, BATCH, DT = 256, 784, 212, 10, 100, 0.001


class BatchTimer(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def steady_ms_per_sequence(times):
    """Median batch time after the first two batches, per sequence, in ms."""
    return 1000 * np.median(times[2:]) / BATCH


def time_library(x, y, planner, unroll):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(1, 1, ORDER, THETA_STEPS * DT, hidden_units=UNITS,
                  input_to_hidden=True, dt=DT, seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        logits = nengo.Node(size_in=CLASSES)
        limit = np.sqrt(6 / (UNITS + CLASSES))
        nengo.Connection(lmu.output, logits, synapse=None,
                         transform=nengo.dists.Uniform(-limit, limit))
        bias = nengo.Node(np.ones(1))
        nengo.Connection(bias, logits, transform=np.zeros((CLASSES, 1)), synapse=None)
        probe = nengo.Probe(logits, synapse=None)
    planners = {"noop": nengo_dl.graph_optimizer.noop_planner,
                "tree": nengo_dl.graph_optimizer.tree_planner}
    configure_training(net, planner=planners[planner])
    timer = BatchTimer()
    with nengo_dl.Simulator(net, minibatch_size=BATCH, unroll_simulation=unroll,
                            progress_bar=False, seed=0) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(1e-3),
                    loss={probe: tf.losses.SparseCategoricalCrossentropy(
                        from_logits=True)})
        sim.fit({stim: x}, {probe: y}, epochs=1, callbacks=[timer], verbose=0)
    return timer.times


def time_keras(x, y):
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((x.shape[1], 1))
    cell = keras_lmu.LMUCell(1, ORDER, THETA_STEPS, tf.keras.layers.SimpleRNNCell(UNITS),
                             input_to_hidden=True)
    out = tf.keras.layers.Dense(CLASSES)(tf.keras.layers.RNN(cell)(inp))
    model = tf.keras.Model(inp, out)
    model.compile(tf.optimizers.Adam(1e-3),
                  tf.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = BatchTimer()
    model.fit(x, y[:, 0, 0], batch_size=BATCH, epochs=1, callbacks=[timer],
              verbose=0, shuffle=False)
    return timer.times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="6 batches of 112-step sequences instead of 10 of 784")
    parser.add_argument("--planner", choices=["noop", "tree"], default="noop")
    parser.add_argument("--unroll", type=int, default=16)
    args = parser.parse_args()
    n = 600 if args.quick else 1000
    (x, y), _ = psmnist(n_train=n, n_test=10)
    if args.quick:
        x = x[:, :112]
    times_library = time_library(x, y, args.planner, args.unroll)
    times_keras = time_keras(x, y)
    ms_library = steady_ms_per_sequence(times_library)
    ms_keras = steady_ms_per_sequence(times_keras)
    print(f"{n} sequences of {x.shape[1]} steps, minibatch {BATCH}; first batch "
          f"(graph construction) {times_library[0]:.1f} s NengoDL, "
          f"{times_keras[0]:.1f} s Keras; planner={args.planner} "
          f"unroll={args.unroll}")
    print(f"RESULT benchmark=B2 ms_library={ms_library:.2f} ms_keras={ms_keras:.2f} "
          f"ratio={ms_library / ms_keras:.2f}")


if __name__ == "__main__":
    main()
