"""Benchmark B1: spiking memory accuracy on the delay task.

Builds, in one process and on the same input, the baseline recipe of the LMU
paper's Loihi example and NengoLMU's default neural memory at the same neuron
count, neuron type, max rates and synapse, and prints the NRMSE of u(t - theta)
decoded from each, the exact system's NRMSE, and their ratio.

    python tests/benchmarks/delay_accuracy.py [--quick] [--ablation] [--synapses]

``--ablation`` also measures the library's choices one at a time (realisation,
state scaling, intercepts, solver, mapping) at 100 neurons per dimension.
``--synapses`` measures the default memory with higher-order recurrent synapses
(Alpha, double exponential; their zero-order-hold zeros inverted to
``zero_order`` Taylor terms) against Lowpass, each against the ideal delay and
against the exact memory's output.
"""

import argparse
import time

import nengo
import numpy as np

from nengo_lmu import LegendreDelay, LMUMemory, delay_readout, ss2sim
from nengo_lmu.mapping import double_exp
from nengo_lmu.tasks.delay import delay_nrmse

THETA, ORDER, DT, TAU = 1.0, 6, 0.001, 0.1
MAX_RATES = nengo.dists.Uniform(100, 120)


def white_signal(duration):
    return nengo.processes.WhiteSignal(period=duration, high=1, rms=0.3, y0=0, seed=0)


def baseline_recipe(n_neurons, stim, mapping="discrete"):
    """6 one-dimensional ensembles of SpikingRectifiedLinear neurons, max rates
    U(100, 120), intercepts U(-1, 0.5), Lowpass(0.1) recurrence mapped by the
    discrete Principle 3 onto the unscaled Legendre states."""
    system = LegendreDelay(THETA, ORDER)
    mapped = ss2sim(
        system, nengo.Lowpass(TAU), dt=DT if mapping == "discrete" else None
    )
    ea = nengo.networks.EnsembleArray(
        n_neurons,
        ORDER,
        neuron_type=nengo.SpikingRectifiedLinear(),
        max_rates=MAX_RATES,
        intercepts=nengo.dists.Uniform(-1, 0.5),
    )
    nengo.Connection(ea.output, ea.input, transform=mapped.A, synapse=TAU)
    nengo.Connection(stim, ea.input, transform=mapped.B, synapse=TAU)
    readout = nengo.Node(size_in=1)
    nengo.Connection(
        ea.output, readout, transform=delay_readout(ORDER, 1.0), synapse=None
    )
    return readout


def library_default(n_neurons, stim, **overrides):
    """LMUMemory with its defaults, given the same neurons and synapse and the
    input class the task states (1 Hz white noise of rms 0.3)."""
    memory = LMUMemory(
        THETA,
        ORDER,
        neurons_per_dimension=n_neurons,
        synapse=nengo.Lowpass(TAU),
        dt=DT,
        neuron_type=nengo.SpikingRectifiedLinear(),
        max_rates=MAX_RATES,
        input_rms=0.3,
        input_high=1.0,
        **overrides,
    )
    nengo.Connection(stim, memory.input, synapse=None)
    return memory.add_delay_output(1.0)


NENGO_DEFAULTS = dict(
    intercepts=nengo.dists.Uniform(-1, 0.5), solver=nengo.solvers.LstsqL2(reg=0.1)
)
# each row changes one thing from the row before, from the baseline recipe's
# choices to the library's defaults
ABLATION = [
    (
        "scaled Legendre states (3 std in radius)",
        dict(realization="legendre", **NENGO_DEFAULTS),
    ),
    ("balanced realisation, scaled", dict(realization="balanced", **NENGO_DEFAULTS)),
    (
        "+ intercepts U(-0.3, 0.3)",
        dict(realization="balanced", solver=nengo.solvers.LstsqL2(reg=0.1)),
    ),
    ("+ LstsqL2(reg=0.03): library defaults", {}),
]


def measure(n_neurons, duration, seed=0, ablation=False):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(white_signal(duration))
        exact = LMUMemory(THETA, ORDER, dt=DT)
        nengo.Connection(stim, exact.input, synapse=None)
        outputs = {
            "exact": exact.add_delay_output(1.0),
            "baseline": baseline_recipe(n_neurons, stim),
            "library": library_default(n_neurons, stim),
        }
        if ablation:
            outputs["baseline, analog Principle 3"] = baseline_recipe(
                n_neurons, stim, mapping="analog"
            )
            for name, overrides in ABLATION:
                outputs[name] = library_default(n_neurons, stim, **overrides)
        probes = {k: nengo.Probe(v, synapse=0.01) for k, v in outputs.items()}
        p_u = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(duration)
    u = sim.data[p_u][:, 0]
    return {
        k: delay_nrmse(sim.data[p][:, 0], u, 1.0, THETA, DT) for k, p in probes.items()
    }


SYNAPSES = [  # (name, synapse, LMUMemory options, in the --quick run)
    ("Lowpass(0.1)", nengo.Lowpass(0.1), {}, True),
    ("Alpha(0.1), zero_order=0", nengo.Alpha(0.1), {"zero_order": 0}, False),
    ("Alpha(0.1), zero_order=1", nengo.Alpha(0.1), {"zero_order": 1}, True),
    ("Alpha(0.1), zero_order=2", nengo.Alpha(0.1), {"zero_order": 2}, False),
    (
        "Alpha(0.1), input advances summed",
        nengo.Alpha(0.1),
        {"mapping_synapse": nengo.Alpha(0.1)},
        False,
    ),
    ("Alpha(0.05), zero_order=1", nengo.Alpha(0.05), {"zero_order": 1}, False),
    (
        "DoubleExp(0.1, 0.02), zero_order=1",
        double_exp(0.1, 0.02),
        {"zero_order": 1},
        True,
    ),
    (
        "DoubleExp(0.1, 0.005), zero_order=1",
        double_exp(0.1, 0.005),
        {"zero_order": 1},
        False,
    ),
]


def measure_synapses(n_neurons, duration, seed=0, quick=False):
    """Delay NRMSE of the default memory on each synapse of `SYNAPSES`:
    against the ideal delayed input (as B1) and against the exact memory's
    decoded delay (both through the same Lowpass(0.01) probe filter)."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(white_signal(duration))
        exact = LMUMemory(THETA, ORDER, dt=DT)
        nengo.Connection(stim, exact.input, synapse=None)
        outputs = {"exact": exact.add_delay_output(1.0)}
        for name, synapse, kwargs, in_quick in SYNAPSES:
            if quick and not in_quick:
                continue
            memory = LMUMemory(
                THETA,
                ORDER,
                neurons_per_dimension=n_neurons,
                synapse=synapse,
                dt=DT,
                neuron_type=nengo.SpikingRectifiedLinear(),
                max_rates=MAX_RATES,
                input_rms=0.3,
                input_high=1.0,
                **kwargs,
            )
            nengo.Connection(stim, memory.input, synapse=None)
            outputs[name] = memory.add_delay_output(1.0)
        probes = {k: nengo.Probe(v, synapse=0.01) for k, v in outputs.items()}
        p_u = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(duration)
    u = sim.data[p_u][:, 0]
    y_exact = sim.data[probes["exact"]][:, 0]
    rms = np.sqrt(np.mean(u**2))
    return {
        k: (
            delay_nrmse(sim.data[p][:, 0], u, 1.0, THETA, DT),
            np.sqrt(np.mean((sim.data[p][:, 0] - y_exact) ** 2)) / rms,
        )
        for k, p in probes.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="measure the library's choices one at a time",
    )
    parser.add_argument(
        "--synapses",
        action="store_true",
        help="measure higher-order recurrent synapses",
    )
    args = parser.parse_args()
    duration = 10.0 if args.quick else 20.0
    t0 = time.time()
    if not args.quick:
        big = measure(400, duration)
        print(
            f"400 neurons per dimension: library {big['library']:.4f}, baseline "
            f"{big['baseline']:.4f}, ratio {big['library'] / big['baseline']:.3f}"
        )
    if args.synapses:
        syn = measure_synapses(100, duration, quick=args.quick)
        print(
            "100 neurons per dimension, NRMSE at delay theta "
            "(vs ideal delay, vs exact memory):"
        )
        for name, (ideal, exact) in syn.items():
            print(f"  {name:40s} {ideal:.4f}  {exact:.4f}")
    res = measure(100, duration, ablation=args.ablation)
    if args.ablation:
        print("100 neurons per dimension, NRMSE at delay theta:")
        for name, value in res.items():
            print(f"  {name:45s} {value:.4f}")
    print(
        f"100 neurons per dimension: library {res['library']:.4f}, baseline "
        f"{res['baseline']:.4f}, exact {res['exact']:.4f} ({time.time() - t0:.0f} s)"
    )
    print(
        f"RESULT benchmark=B1 nrmse_library={res['library']:.4f} "
        f"nrmse_baseline={res['baseline']:.4f} nrmse_exact={res['exact']:.4f} "
        f"ratio={res['library'] / res['baseline']:.3f}"
    )


if __name__ == "__main__":
    main()
