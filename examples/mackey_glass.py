"""Mackey-Glass prediction with an LMU trained in NengoDL.

The LMU reads the chaotic Mackey-Glass series (tau = 17) and predicts it
15 steps ahead; NRMSE on held-out series, next to predicting "no change".

    python examples/mackey_glass.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import nengo_dl  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training  # noqa: E402
from nengo_lmu.tasks import mackey_glass  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short series, few epochs")
    args = parser.parse_args()
    steps = 400 if args.quick else 2000
    (x, y), (x_test, y_test) = mackey_glass(
        n_train=32 if args.quick else 128, n_test=16, steps=steps)
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(1, 1, 12, 0.05, hidden_units=40, input_to_hidden=True, seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        prediction = nengo.Node(size_in=1)
        nengo.Connection(lmu.output, prediction, transform=np.zeros((1, 40)),
                         synapse=None)
        nengo.Connection(stim, prediction, synapse=None)  # learn the change
        probe = nengo.Probe(prediction, synapse=None)
    configure_training(net, keep_history=True)
    with nengo_dl.Simulator(net, minibatch_size=16, unroll_simulation=10,
                            progress_bar=False, seed=0) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(3e-3), loss=tf.losses.mse)
        sim.fit({stim: x}, {probe: y}, epochs=5 if args.quick else 30, verbose=0)
        out = sim.predict({stim: x_test}, n_steps=steps)[probe]
    nrmse = np.sqrt(np.mean((out - y_test) ** 2)) / np.std(y_test)
    persistence = np.sqrt(np.mean((x_test - y_test) ** 2)) / np.std(y_test)
    print(f"NRMSE of the 15-step prediction: LMU {nrmse:.3f}, "
          f"no-change baseline {persistence:.3f}")


if __name__ == "__main__":
    main()
