"""From training to Loihi: an LMU trained in NengoDL, run in spiking neurons on
the NengoLoihi emulator, memory and hidden state on the (emulated) chip.

The steps of ``docs/guide/training_to_loihi.rst``, with the model and recipe
of benchmark B5 (`nengo_lmu.tasks.psmnist_chip`):

1. build the LMU with a neural memory (`nengo_lmu.loihi.lmu_kwargs`) and
   rate neurons (the rate twins of the spiking neurons it will run with):
   `nengo_lmu.tasks.psmnist_chip.chip_psmnist_network`;
2. train it in NengoDL (`nengo_lmu.tasks.psmnist_chip.train_chip_network`:
   `nengo_lmu.tasks.experiment.fit`, which calls
   `nengo_lmu.dl.configure_training`);
3. rebuild the memory for the chip's loop and copy the trained weights
   (``copy_trained``);
4. convert to spiking neurons (`nengo_lmu.spiking.to_spiking`);
5. adjust to what the chip makes of it, on training digits: the hidden
   units' reading of the memory corrected, the readout refitted
   (`nengo_lmu.tasks.psmnist_chip.adjust_to_backend`);
6. check that everything goes on the chip (`nengo_lmu.loihi.check_loihi`);
7. run it on the emulator (``run_sequences``) and compare with the rate
   network.

Task: psMNIST from the shipped digits, all 784 pixels (the full run is B5's:
4,000 training and 1,000 test digits, 300 of them on the emulator; about
half an hour on two cores). ``--quick`` runs every 8th pixel of 200 digits
for 2 epochs, to show the steps.

Usage::

    python examples/training_to_loihi.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nengo_lmu import loihi  # noqa: E402
from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks import experiment  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402
from nengo_lmu.tasks.psmnist_chip import (  # noqa: E402
    CHIP_SETTINGS,
    adjust_to_backend,
    chip_psmnist_network,
    train_chip_network,
)

S = CHIP_SETTINGS


def nengo_dl_accuracy(net, data):
    x, y = data
    return experiment.classification_accuracy(experiment.predict(net, x), y)


def emulator_accuracy(net, data):
    """Each sequence in its own copy of the network (the emulator cannot reset
    its state), 50 copies per emulator run."""
    x, y = data
    logits = experiment.run_sequences(net, x, backend="loihi", last=True)
    return experiment.classification_accuracy(logits, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="200 training digits, every 8th pixel, 2 epochs, 10 on the emulator",
    )
    args = parser.parse_args(argv)
    if args.quick:
        train_data, test = psmnist(n_train=200, n_test=100, subsample=8)
        epochs, n_chip, n_adjust = 2, 10, 20
    else:
        train_data, test = psmnist(n_train=4000, n_test=1000)
        epochs, n_chip, n_adjust = S["epochs"], 300, S["correct"]
    steps = train_data[0].shape[1]

    rate = chip_psmnist_network(steps, target="nengo")
    # trained in NengoDL; the memory and its input weight stay fixed, the
    # trained weights go back into the network
    train_chip_network(rate, train_data, epochs=epochs)
    acc_rate = nengo_dl_accuracy(rate, test)
    # rate_scale: the hidden units fire at most a few hundred Hz, below the
    # chip's one spike per step
    spiking = to_spiking(rate, synapse=S["hidden_synapse"], rate_scale=S["rate_scale"])
    adjust_to_backend(rate, spiking, train_data, "dl", n_adjust, n_adjust)
    acc_spiking = nengo_dl_accuracy(spiking, test)

    chip = to_spiking(
        experiment.copy_trained(rate, chip_psmnist_network(steps, target="loihi")),
        synapse=S["hidden_synapse"],
        rate_scale=S["rate_scale"],
    )
    print(adjust_to_backend(rate, chip, train_data, "loihi", n_adjust, n_adjust))
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
