"""Benchmark B2: training speed of the LMU on psMNIST, library vs KerasLMU.

Three models, each trained with the library and with KerasLMU on the same
psMNIST sequences in one process; the time per training batch is the median
after the first two (graph construction and warm-up), per sequence:

* B2: one LMU, order 256, theta 784 steps, 212 tanh hidden units with hidden
  recurrence, input-to-hidden and memory-to-hidden kernels, a dense readout of
  10 classes; Adam; minibatch 100. The library's NengoDL path against
  KerasLMU's ``RNN(LMUCell)``: ``ms_library``, ``ms_keras``, ``ratio``.
* small: order 32, theta 256 steps, 64 tanh units (hidden recurrence,
  input-to-hidden), 256-step sequences (every third pixel). NengoDL against
  ``RNN(LMUCell)``: ``ratio_small``.
* parallel: the small model with a Dense hidden cell, trained by the
  library's parallel path (`nengo_lmu.interop.parallel.ParallelLMU`) against
  KerasLMU's ``LMUFeedforward``: ``ratio_parallel``.

``cpu_ratio``, ``cpu_ratio_small``, ``cpu_ratio_parallel``: the same ratios
of the process's CPU time per batch, less sensitive to other processes on a
shared machine than wall time.

``--floor`` adds ``ratio_small_one_op``: the small model's whole cell step
as a single NengoDL TensorNode (KerasLMU's cell inside), which bounds what
any fusion of the LMU's operators could reach in NengoDL's step-by-step
loop.

``first_batch_ratio`` is the time from building the model (NengoDL
simulator, or Keras model) to the end of the first training batch, graph
construction included, library / KerasLMU, for the B2 model;
``first_batch_ratio_small`` the same for the small one.

    python tests/benchmarks/training_speed.py [--quick] [--planner noop|tree]
        [--unroll N] [--unroll-small N] [--no-fuse] [--only b2|small|parallel]
        [--floor]
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
from nengo_lmu.interop.parallel import ParallelLMU  # noqa: E402
from nengo_lmu.tasks.experiment import (  # noqa: E402
    fit,
    glorot_uniform,
    sequence_network,
)
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

CLASSES, BATCH, DT = 10, 100, 0.001
#: order, theta in steps, hidden units, sequence steps (full runs)
B2 = dict(order=256, theta=784, units=212, steps=784)
SMALL = dict(order=32, theta=256, units=64, steps=256)


class BatchTimer(tf.keras.callbacks.Callback):
    """Wall time of each training batch, and of the first batch's end; the
    process's CPU time of each batch (all threads) in ``cpu``."""

    def __init__(self):
        super().__init__()
        self.times = []
        self.cpu = []
        self.first_end = None

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.times.append(now - self.start)
        self.cpu.append(time.process_time() - self.cpu_start)
        if self.first_end is None:
            self.first_end = now


def steady_ms_per_sequence(times):
    """Median batch time after the first two batches, per sequence, in ms."""
    return 1000 * np.median(times[2:]) / BATCH


def add_figures(result, key, library, keras):
    """ms per sequence (wall) of both, their ratio, and the CPU-time ratio
    (less sensitive to other processes on a shared machine)."""
    prefix = "ms" if key == "" else f"ms_{key}"
    suffix = "" if key == "" else f"_{key}"
    lib, ker = steady_ms_per_sequence(library.times), steady_ms_per_sequence(
        keras.times
    )
    result[f"{prefix}_library"], result[f"{prefix}_keras"] = lib, ker
    result[f"ratio{suffix}"] = lib / ker
    result[f"cpu_ratio{suffix}"] = steady_ms_per_sequence(
        library.cpu
    ) / steady_ms_per_sequence(keras.cpu)


def time_nengo_dl(x, y, model, planner, unroll, fuse, recurrent=True):
    """NengoDL training: (batch times, seconds from build to first batch end)."""
    start = time.perf_counter()
    lmu = LMU(
        1,
        1,
        model["order"],
        model["theta"] * DT,
        hidden_units=model["units"],
        hidden_recurrent=recurrent,
        input_to_hidden=True,
        dt=DT,
        seed=0,
        add_to_container=False,
    )
    # a Glorot-uniform readout into 10 logits, with a trainable bias
    net = sequence_network(lmu, size_out=CLASSES, seed=0)
    planners = {
        "noop": nengo_dl.graph_optimizer.noop_planner,
        "tree": nengo_dl.graph_optimizer.tree_planner,
    }
    settings = {"planner": planners[planner]}
    if not fuse:
        settings["simplifications"] = nengo_dl.graph_optimizer.default_simplifications
    timer = fit_nengo_dl(net, x, y, unroll, **settings)
    return timer, timer.first_end - start


def fit_nengo_dl(net, x, y, unroll, **settings):
    """One epoch of NengoDL training (Adam, cross-entropy on the logits;
    `nengo_lmu.tasks.experiment.fit`); returns the BatchTimer."""
    timer = BatchTimer()
    fit(
        net,
        (x, y),
        epochs=1,
        learning_rate=1e-3,
        batch_size=BATCH,
        unroll=unroll,
        callbacks=[timer],
        freeze=False,
        **settings,
    )
    return timer


def time_one_op(x, y, model):
    """NengoDL's floor for the small model: KerasLMU's whole cell step as one
    TensorNode (one operator per step instead of the LMU's ~18), with the
    same readout, settings and loop. Batch times only."""

    class CellStep(tf.keras.layers.Layer):
        """[x ; m ; h] -> [m' ; h'] by keras_lmu.LMUCell."""

        def build(self, shape):
            self.cell = keras_lmu.LMUCell(
                1,
                model["order"],
                model["theta"],
                tf.keras.layers.SimpleRNNCell(model["units"]),
                input_to_hidden=True,
            )
            self.cell.build((None, 1))

        def call(self, inputs):
            q = model["order"]
            _, (m, h) = self.cell.call(
                inputs[:, :1], [inputs[:, 1 : 1 + q], inputs[:, 1 + q :]]
            )
            return tf.concat([m, h], axis=1)

    n_state = model["order"] + model["units"]
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        step = nengo_dl.TensorNode(
            CellStep(), shape_in=(1 + n_state,), shape_out=(n_state,), pass_time=False
        )
        nengo.Connection(stim, step[:1], synapse=None)
        nengo.Connection(step, step[1:], synapse=0)  # the state, one step back
        logits = nengo.Node(size_in=CLASSES)
        nengo.Connection(
            step[model["order"] :],
            logits,
            synapse=None,
            transform=glorot_uniform(CLASSES, model["units"]),
        )
        net.stim, net.probe = stim, nengo.Probe(logits, synapse=None)
    return fit_nengo_dl(net, x, y, unroll=2)


def fit_keras(model, x, y):
    model.compile(
        tf.optimizers.Adam(1e-3),
        tf.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    timer = BatchTimer()
    model.fit(
        x,
        y[:, 0, 0],
        batch_size=BATCH,
        epochs=1,
        callbacks=[timer],
        verbose=0,
        shuffle=False,
    )
    return timer


def time_keras(x, y, model):
    """KerasLMU RNN(LMUCell): (batch times, seconds from build to first batch)."""
    start = time.perf_counter()
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((x.shape[1], 1))
    cell = keras_lmu.LMUCell(
        1,
        model["order"],
        model["theta"],
        tf.keras.layers.SimpleRNNCell(model["units"]),
        input_to_hidden=True,
    )
    out = tf.keras.layers.Dense(CLASSES)(tf.keras.layers.RNN(cell)(inp))
    timer = fit_keras(tf.keras.Model(inp, out), x, y)
    return timer, timer.first_end - start


def time_parallel(x, y, model, library):
    """The Dense-hidden model, in parallel: the library's ParallelLMU, or
    KerasLMU's LMUFeedforward. Returns (batch times, seconds to first batch)."""
    start = time.perf_counter()
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((x.shape[1], 1))
    if library:
        lmu = LMU(
            1,
            1,
            model["order"],
            model["theta"] * DT,
            hidden_units=model["units"],
            hidden_recurrent=False,
            input_to_hidden=True,
            dt=DT,
            seed=0,
            add_to_container=False,
        )
        layer = ParallelLMU(lmu)
    else:
        layer = keras_lmu.LMUFeedforward(
            1,
            model["order"],
            model["theta"],
            tf.keras.layers.Dense(model["units"], activation="tanh"),
            input_to_hidden=True,
            return_sequences=False,
        )
    out = tf.keras.layers.Dense(CLASSES)(layer(inp))
    timer = fit_keras(tf.keras.Model(inp, out), x, y)
    return timer, timer.first_end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="B2 on 112-step sequences, 600 sequences per model",
    )
    parser.add_argument("--planner", choices=["noop", "tree"], default="noop")
    # 4 measured faster than 16 (and 8) in both steady state and graph
    # construction, on both models; 2 as fast as 4 per step, with half the
    # graph construction (docs/benchmarks.rst, B2)
    parser.add_argument(
        "--unroll", type=int, default=2, help="NengoDL unroll_simulation, B2 model"
    )
    parser.add_argument(
        "--unroll-small",
        type=int,
        default=2,
        help="NengoDL unroll_simulation, small model",
    )
    parser.add_argument(
        "--no-fuse",
        action="store_true",
        help="NengoDL's default simplifications only (without "
        "nengo_lmu.dl.fusion.fuse_dot_copies)",
    )
    parser.add_argument("--only", choices=["b2", "small", "parallel"])
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the small model's cell as one NengoDL TensorNode "
        "(ratio_small_one_op: NengoDL's per-step floor)",
    )
    args = parser.parse_args()
    n = 600 if args.quick else 1000
    (x, y), _ = psmnist(n_train=n, n_test=10)
    x_b2 = x[:, :112] if args.quick else x
    # every third pixel: 256 steps
    x_small = x[:, : 3 * SMALL["steps"] : 3]
    fuse = not args.no_fuse
    result, notes = {}, []

    if args.only in (None, "b2"):
        lib, lib_first = time_nengo_dl(x_b2, y, B2, args.planner, args.unroll, fuse)
        ker, ker_first = time_keras(x_b2, y, B2)
        add_figures(result, "", lib, ker)
        result["first_batch_ratio"] = lib_first / ker_first
        notes.append(
            f"B2: {x_b2.shape[1]} steps; to the end of the first batch "
            f"{lib_first:.1f} s NengoDL, {ker_first:.1f} s Keras"
        )
    if args.only in (None, "small"):
        lib, lib_first = time_nengo_dl(
            x_small, y, SMALL, args.planner, args.unroll_small, fuse
        )
        ker, ker_first = time_keras(x_small, y, SMALL)
        add_figures(result, "small", lib, ker)
        result["first_batch_ratio_small"] = lib_first / ker_first
        if args.floor:
            add_figures(result, "small_one_op", time_one_op(x_small, y, SMALL), ker)
        notes.append(
            f"small: {x_small.shape[1]} steps; to the end of the first "
            f"batch {lib_first:.1f} s NengoDL, {ker_first:.1f} s Keras"
        )
    if args.only in (None, "parallel"):
        lib, lib_first = time_parallel(x_small, y, SMALL, library=True)
        ker, ker_first = time_parallel(x_small, y, SMALL, library=False)
        add_figures(result, "parallel", lib, ker)
        notes.append(
            f"parallel: to the end of the first batch {lib_first:.1f} s "
            f"ParallelLMU, {ker_first:.1f} s LMUFeedforward"
        )

    print(
        f"{n} sequences, minibatch {BATCH}; planner={args.planner} "
        f"unroll={args.unroll} unroll_small={args.unroll_small} fuse={fuse}"
    )
    for note in notes:
        print(note)
    print(
        "RESULT benchmark=B2 "
        + " ".join(f"{key}={value:.2f}" for key, value in result.items())
    )


if __name__ == "__main__":
    main()
