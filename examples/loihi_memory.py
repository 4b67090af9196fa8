"""The LMU's delay memory in spiking neurons on the Loihi emulator.

Builds `nengo_lmu.LMUMemory` with the settings of `nengo_lmu.loihi.memory_kwargs`
(the recurrence mapped onto the filter that the chip's decoded connections
apply), checks that it can go on the chip, runs it in
``nengo_loihi.Simulator(target="sim")`` and prints the delay task's NRMSE: the
memory's readout of ``u(t - theta)`` against the input delayed by ``theta``,
both filtered by ``Lowpass(0.01)``. With ``--compare`` it also runs the same
network mapped for Nengo's own ``Lowpass`` (what ``nengo.Simulator`` needs).

Usage::

    python examples/loihi_memory.py [--quick] [--compare] [--plot]
"""

import argparse
import warnings

import nengo
import numpy as np

from nengo_lmu import LMUMemory, loihi


def build(duration, theta, order, neurons_per_dimension, seed, mapping_synapse=None):
    kwargs = loihi.memory_kwargs(
        theta, order, neurons_per_dimension=neurons_per_dimension
    )
    if mapping_synapse is not None:
        kwargs["mapping_synapse"] = mapping_synapse
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(
            nengo.processes.WhiteSignal(period=duration, high=1, rms=0.3, y0=0, seed=0)
        )
        memory = LMUMemory(**kwargs)
        nengo.Connection(stim, memory.input, synapse=None)
        delayed = memory.add_delay_output(1.0)
        probes = (
            nengo.Probe(delayed, synapse=0.01),
            nengo.Probe(stim, synapse=0.01),
        )
    return net, probes


def run(net, probes, duration, theta, dt=0.001):
    import nengo_loihi  # pylint: disable=import-outside-toplevel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NengoLoihi's notes on settings it ignores
        with nengo_loihi.Simulator(net, dt=dt, target="sim") as sim:
            sim.run(duration)
    y, u = (sim.data[p][:, 0] for p in probes)
    d = int(round(theta / dt))
    reference = u[:-d]
    nrmse = np.sqrt(np.mean((y[d:] - reference) ** 2) / np.mean(reference**2))
    return sim.trange()[d:], y[d:], reference, nrmse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s instead of 20 s")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the memory mapped for nengo.Simulator",
    )
    parser.add_argument("--plot", action="store_true", help="plot with matplotlib")
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--neurons-per-dimension", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    theta = 1.0
    duration = 5.0 if args.quick else 20.0

    net, probes = build(
        duration, theta, args.order, args.neurons_per_dimension, args.seed
    )
    print(loihi.check_loihi(net))
    t, y, ref, nrmse = run(net, probes, duration, theta)
    print(f"Loihi emulator, mapped onto loop_synapse: delay NRMSE = {nrmse:.3f}")
    if args.compare:
        naive, naive_probes = build(
            duration,
            theta,
            args.order,
            args.neurons_per_dimension,
            args.seed,
            mapping_synapse=nengo.Lowpass(0.1),
        )
        *_, naive_nrmse = run(naive, naive_probes, duration, theta)
        print(
            f"Loihi emulator, mapped onto Lowpass(0.1):   delay NRMSE = "
            f"{naive_nrmse:.3f}"
        )
    if args.plot:
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

        plt.plot(t, ref, label="u(t - theta)")
        plt.plot(t, y, label="memory readout (emulator)")
        plt.xlabel("time [s]")
        plt.legend()
        plt.show()
    return nrmse


if __name__ == "__main__":
    main()
