"""From training to Loihi: an LMU trained in NengoDL, run in spiking neurons on
the NengoLoihi emulator, memory and hidden state on the (emulated) chip.

The steps of ``docs/guide/training_to_loihi.rst``:

1. build the LMU with a neural memory (`nengo_lmu.loihi.lmu_kwargs`) and
   rate neurons (the rate twins of the spiking neurons it will run with);
2. train it in NengoDL (`nengo_lmu.dl.configure_training`);
3. rebuild the memory for the chip's loop and copy the trained weights;
4. convert to spiking neurons (`nengo_lmu.spiking.to_spiking`);
5. check that everything goes on the chip (`nengo_lmu.loihi.check_loihi`);
6. run it on the emulator and compare with the rate network.

Task: psMNIST from the shipped digits, every 8th pixel (98 steps).

Usage::

    python examples/training_to_loihi.py [--quick]
"""

import argparse
import copy
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import numpy as np  # noqa: E402

from nengo_lmu import LMU, loihi  # noqa: E402
from nengo_lmu.dl import configure_training, import_nengo_dl  # noqa
from nengo_lmu.spiking import to_spiking  # noqa
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

DT = 0.001
ORDER, UNITS, MEMORY_NEURONS = 6, 32, 50
OUTPUT_SYNAPSE = 0.02  # hidden units to the readout: trained with it
SYNAPSE = 0.005  # on the spiking neurons' other outgoing connections
TAU = 0.02  # the memory's recurrent synapse (100 ms is too slow for theta 0.1 s)


def build(steps, target):
    """The LMU with its memory mapped for ``target`` ("nengo" or "loihi")."""
    theta = steps * DT
    # rate twins for training; the memory's recurrence is mapped onto the
    # filter of the simulator that runs it
    mapping = {"delay_steps": 2}
    if target != "loihi":
        mapping = {"mapping_synapse": nengo.Lowpass(TAU)}
    memory = loihi.lmu_kwargs(
        theta,
        ORDER,
        neurons_per_dimension=MEMORY_NEURONS,
        neuron_type=nengo.RectifiedLinear(),
        tau=TAU,
        # permuted pixels are white noise up to 500 Hz: scale the states for it
        input_rms=0.5,
        input_high=400,
        max_rates=nengo.dists.Uniform(400, 500),
        **mapping,
    )
    with nengo.Network(seed=0) as net:
        net.stim = nengo.Node(np.zeros(1), label="pixels")
        net.lmu = LMU(
            1,
            1,
            ORDER,
            theta,
            hidden_units=UNITS,
            hidden_neuron_type=nengo.RectifiedLinear(),
            hidden_recurrent=False,
            input_to_hidden=True,
            output_synapse=OUTPUT_SYNAPSE,
            kernel_initializer=np.ones((1, 1)),
            seed=0,
            **memory,
        )
        nengo.Connection(net.stim, net.lmu.input, synapse=None)
        logits = nengo.Node(size_in=10, label="logits")
        nengo.Connection(
            net.lmu.output,
            logits,
            synapse=None,
            transform=nengo.dists.Uniform(-0.3, 0.3),
        )
        net.probe = nengo.Probe(logits, synapse=None)
    return net


def train(net, data, epochs):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    nengo_dl = import_nengo_dl()
    configure_training(net)  # the memory stays fixed
    x, y = data
    with nengo_dl.Simulator(net, minibatch_size=50, seed=0, progress_bar=False) as sim:
        sim.compile(
            optimizer=tf.optimizers.Adam(1e-2),
            loss={net.probe: tf.losses.SparseCategoricalCrossentropy(from_logits=True)},
        )
        sim.fit({net.stim: x}, {net.probe: y}, epochs=epochs, verbose=0)
        sim.freeze_params(net)  # trained weights back into the network


def nengo_dl_accuracy(net, data):
    nengo_dl = import_nengo_dl()
    x, y = data
    with nengo_dl.Simulator(net, minibatch_size=len(x), progress_bar=False) as sim:
        out = sim.predict({net.stim: x})[net.probe]
    return float(np.mean(np.argmax(out[:, -1], axis=-1) == y[:, 0, 0]))


def copy_trained(src, dst):
    """Trained weights (all but the fixed memory) from ``src`` into ``dst``."""
    fixed = set(src.lmu.memory.all_connections)
    for a, b in zip(src.all_connections, dst.all_connections):
        if a not in fixed:
            b.transform = a.transform
    dst.lmu.hidden.bias = src.lmu.hidden.bias
    return dst


def emulator_accuracy(net, data):
    """Each sequence in its own copy of the network (the emulator cannot reset
    its state), all copies in one emulator run."""
    import nengo_loihi  # pylint: disable=import-outside-toplevel

    x, y = data
    with nengo.Network(seed=0) as parent:
        pass
    copies = []
    for seq in x:
        c = copy.deepcopy(net)
        c.stim.output = nengo.processes.PresentInput(seq, presentation_time=DT)
        parent.networks.append(c)
        copies.append(c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NengoLoihi's notes on ignored settings
        with nengo_loihi.Simulator(
            parent, dt=DT, target="sim", progress_bar=False
        ) as sim:
            sim.run_steps(x.shape[1])
    logits = np.array([sim.data[c.probe][-1] for c in copies])
    return float(np.mean(np.argmax(logits, axis=-1) == y[:, 0, 0]))


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
    train(rate, train_data, epochs)
    acc_rate = nengo_dl_accuracy(rate, test)
    # rate_scale 100: hidden units fire at most a few hundred Hz, below the
    # chip's one spike per step
    spiking = to_spiking(rate, synapse=SYNAPSE, rate_scale=100)
    acc_spiking = nengo_dl_accuracy(spiking, test)

    chip = to_spiking(
        copy_trained(rate, build(steps, "loihi")), synapse=SYNAPSE, rate_scale=100
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
