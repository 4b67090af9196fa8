"""From training to Loihi: an LMU trained in NengoDL, run in spiking neurons on
the NengoLoihi emulator, memory and hidden state on the (emulated) chip.

The steps of ``docs/guide/training_to_loihi.rst``:

1. build the LMU with a neural memory (`nengo_lmu.loihi.lmu_kwargs`) and
   rate neurons (the rate twins of the spiking neurons it will run with):
   `nengo_lmu.tasks.experiment.chip_lmu` and ``sequence_network``;
2. train it in NengoDL (`nengo_lmu.tasks.experiment.fit`, which calls
   `nengo_lmu.dl.configure_training`);
3. rebuild the memory for the chip's loop and copy the trained weights
   (``copy_trained``);
4. convert to spiking neurons (`nengo_lmu.spiking.to_spiking`);
5. check that everything goes on the chip (`nengo_lmu.loihi.check_loihi`);
6. run it on the emulator (``run_sequences``) and compare with the rate
   network.

Task: psMNIST from the shipped digits, every 8th pixel (98 steps).

Usage::

    python examples/training_to_loihi.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402

from nengo_lmu import loihi  # noqa: E402
from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks import experiment  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

DT = 0.001
ORDER, UNITS, MEMORY_NEURONS = 6, 32, 50
OUTPUT_SYNAPSE = 0.02  # hidden units to the readout: trained with it
SYNAPSE = 0.005  # on the spiking neurons' other outgoing connections
TAU = 0.02  # the memory's recurrent synapse (100 ms is too slow for theta 0.1 s)


def build(steps, target):
    """The LMU with its memory mapped for ``target`` ("nengo" or "loihi"),
    rate twins for training, and a readout of 10 logits (benchmark B5 builds
    its networks with the same two functions)."""
    lmu = experiment.chip_lmu(
        steps * DT,
        ORDER,
        UNITS,
        memory_neurons_per_dimension=MEMORY_NEURONS,
        target=target,
        tau=TAU,
        delay_steps=2,
        output_synapse=OUTPUT_SYNAPSE,
        # permuted pixels are white noise up to 500 Hz: scale the states for it
        input_rms=0.5,
        input_high=400,
        max_rates=nengo.dists.Uniform(400, 500),
    )
    return experiment.sequence_network(
        lmu,
        size_out=10,
        readout=nengo.dists.Uniform(-0.3, 0.3),
        bias=False,
        input_label="pixels",
        output_label="logits",
    )


def nengo_dl_accuracy(net, data):
    x, y = data
    return experiment.classification_accuracy(
        experiment.predict(net, x, batch_size=len(x)), y
    )


def emulator_accuracy(net, data):
    """Each sequence in its own copy of the network (the emulator cannot reset
    its state), all copies in one emulator run."""
    x, y = data
    logits = experiment.run_sequences(
        net, x, backend="loihi", last=True, batch_size=len(x)
    )
    return experiment.classification_accuracy(logits, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="200 training digits, 2 epochs, 10 on the emulator",
    )
    args = parser.parse_args(argv)
    n_train, epochs, n_chip = (200, 2, 10) if args.quick else (2000, 10, 100)
    train_data, test = psmnist(n_train=n_train, n_test=100, subsample=8)
    steps = train_data[0].shape[1]

    rate = build(steps, "nengo")
    # trained in NengoDL; the memory stays fixed, the trained weights go back
    # into the network
    experiment.fit(rate, train_data, epochs=epochs, learning_rate=1e-2, batch_size=50)
    acc_rate = nengo_dl_accuracy(rate, test)
    # rate_scale 100: hidden units fire at most a few hundred Hz, below the
    # chip's one spike per step
    spiking = to_spiking(rate, synapse=SYNAPSE, rate_scale=100)
    acc_spiking = nengo_dl_accuracy(spiking, test)

    chip = to_spiking(
        experiment.copy_trained(rate, build(steps, "loihi")),
        synapse=SYNAPSE,
        rate_scale=100,
    )
    report = loihi.check_loihi(chip)
    print(report)
    chip_test = (test[0][:n_chip], test[1][:n_chip])
    acc_loihi = emulator_accuracy(chip, chip_test)
    print(
        f"accuracy on {len(test[0])} test digits: rate {acc_rate:.3f}, "
        f"spiking (NengoDL) {acc_spiking:.3f}; on the Loihi emulator "
        f"({n_chip} digits) {acc_loihi:.3f}"
    )
    return acc_rate, acc_spiking, acc_loihi


if __name__ == "__main__":
    main()
