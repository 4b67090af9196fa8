"""Benchmark B4: psMNIST, rate to spiking.

Trains a spiking-capable LMU (exact memory, a rectified-linear hidden layer
reading the memory and the input, a dense readout; the hidden layer's output
synapse is in place during training, so that its lag is learned) with NengoDL on the
shipped psMNIST training sequences, and KerasLMU's same model with the same
budget (epochs, minibatch, optimiser); reports both rate accuracies on the
test sequences, then swaps the hidden neurons for their spiking twins
(`nengo_lmu.spiking.to_spiking`, rates scaled up) and reports the spiking accuracy
and the drop.

    python tests/benchmarks/psmnist_spiking.py [--quick] [--epochs N]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_lmu  # noqa: E402
import nengo  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks.psmnist import (  # noqa: E402
    evaluate_psmnist,
    psmnist,
    psmnist_network,
    train_psmnist,
)


def keras_accuracy(train, test, order, units, epochs, lr, batch):
    (x, y), (x_test, y_test) = train, test
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((x.shape[1], 1))
    cell = keras_lmu.LMUCell(
        1,
        order,
        x.shape[1],
        tf.keras.layers.Dense(units, activation="relu"),
        input_to_hidden=True,
    )
    out = tf.keras.layers.Dense(10)(tf.keras.layers.RNN(cell)(inp))
    model = tf.keras.Model(inp, out)
    model.compile(
        tf.optimizers.Adam(lr),
        tf.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y[:, 0, 0], batch_size=batch, epochs=epochs, verbose=2)
    return model.evaluate(x_test, y_test[:, 0, 0], verbose=0)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="500 training / 200 test sequences, every 4th pixel",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--order", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    parser.add_argument(
        "--synapse",
        type=float,
        default=0.005,
        help="output synapse, used in training and after the swap",
    )
    args = parser.parse_args()
    if args.quick:
        train, test = psmnist(n_train=500, n_test=200, subsample=4)
        epochs, order, units = args.epochs or 2, args.order or 64, args.units or 64
    else:
        train, test = psmnist(n_train=4000, n_test=1000)
        epochs, order, units = args.epochs or 8, args.order or 128, args.units or 128
    steps = train[0].shape[1]
    lr, batch = 1e-3, 100
    start = time.perf_counter()
    acc_keras = keras_accuracy(train, test, order, units, epochs, lr, batch)
    net = psmnist_network(
        order=order,
        theta=steps * 0.001,
        hidden_units=units,
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_recurrent=False,
        output_synapse=args.synapse,
    )
    history = train_psmnist(
        net, train, test, epochs=epochs, learning_rate=lr, batch_size=batch, verbose=2
    )
    acc_rate = evaluate_psmnist(net, test)
    spiking = to_spiking(net, synapse=args.synapse, rate_scale=args.rate_scale)
    acc_spiking = evaluate_psmnist(spiking, test)
    print(
        f"{len(train[0])} training / {len(test[0])} test sequences of {steps} "
        f"steps, order {order}, {units} hidden units, {epochs} epochs; NengoDL "
        f"test accuracy during training {history['test_accuracy']:.4f}; spiking: "
        f"rate scale {args.rate_scale:g}, synapse {args.synapse:g} s; "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(
        f"RESULT benchmark=B4 acc_keras={acc_keras:.4f} acc_rate={acc_rate:.4f} "
        f"acc_spiking={acc_spiking:.4f} "
        f"drop_points={100 * (acc_rate - acc_spiking):.2f}"
    )


if __name__ == "__main__":
    main()
