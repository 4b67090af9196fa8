"""Online learning of a delay with PES, reading an LMU memory.

A spiking ensemble represents the (scaled) state of an LMU memory. Its
decoders start at zero, and nengo.PES learns them online from the error
between their output and the ideal delayed input u(t - r theta). Learning is
switched off for the last part, where the error is measured.

    python examples/pes_delay.py [--quick]
"""

import argparse

import nengo
import numpy as np

from nengo_lmu import LMUMemory, scaled_realization

THETA, ORDER, DT = 0.5, 4, 0.001


def build(learn_time, test_time, r=0.5, n_neurons=1000, seed=0, rate=3e-4):
    duration = learn_time + test_time
    shift = int(round(r * THETA / DT))
    signal = nengo.processes.WhiteSignal(
        period=duration, high=2, rms=0.3, y0=0, seed=seed
    )
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(signal)
        memory = LMUMemory(THETA, ORDER)
        nengo.Connection(stim, memory.input, synapse=None)

        # normalise the memory state so the ensemble's radius fits it
        _, T = scaled_realization(
            memory.discrete_system, input_rms=0.3, input_high=2.0, n_std=2.5
        )
        reader = nengo.Ensemble(n_neurons, ORDER, neuron_type=nengo.LIF(), radius=1.2)
        nengo.Connection(
            memory.output, reader, transform=np.linalg.inv(T), synapse=0.005
        )
        delayed = nengo.Node(size_in=1)
        learned = nengo.Connection(
            reader,
            delayed,
            function=lambda x: 0,
            learning_rule_type=nengo.PES(rate),
            synapse=0.01,
        )

        # the ideal delay, from a buffer of the input
        buffer = np.zeros(shift + 1)

        def ideal_delay(t, u):
            buffer[1:] = buffer[:-1]
            buffer[0] = u[0]
            return buffer[shift]

        ideal = nengo.Node(ideal_delay, size_in=1)
        nengo.Connection(stim, ideal, synapse=None)
        ideal_filtered = nengo.Node(size_in=1)  # the learned path's synapse
        nengo.Connection(ideal, ideal_filtered, synapse=0.01)

        # error = learned - ideal, silenced after learn_time
        error = nengo.Node(lambda t, e: e if t < learn_time else 0 * e, size_in=1)
        nengo.Connection(delayed, error, synapse=None)
        nengo.Connection(ideal_filtered, error, transform=-1, synapse=None)
        nengo.Connection(error, learned.learning_rule, synapse=None)

        probes = {
            "delayed": nengo.Probe(delayed, synapse=0.01),
            "ideal": nengo.Probe(ideal_filtered, synapse=0.01),
            "input": nengo.Probe(stim, synapse=None),
        }
    return net, probes


def run(learn_time=40.0, test_time=5.0, seed=0, **kwargs):
    """Learn for learn_time seconds, then return the NRMSE over test_time
    (with learning off)."""
    net, probes = build(learn_time, test_time, seed=seed, **kwargs)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(learn_time + test_time)
    test = sim.trange() > learn_time
    err = sim.data[probes["delayed"]][test] - sim.data[probes["ideal"]][test]
    rms = np.sqrt(np.mean(sim.data[probes["input"]] ** 2))
    return np.sqrt(np.mean(err**2)) / rms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    learn = 20.0 if args.quick else 60.0
    nrmse = run(learn_time=learn)
    # before learning the decoders are zero: NRMSE about 1
    print(
        f"NRMSE of the learned delay u(t - {0.5 * THETA:g} s) after {learn:g} s "
        f"of learning, measured with learning off: {nrmse:.3f}"
    )


if __name__ == "__main__":
    main()
