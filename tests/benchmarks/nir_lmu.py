"""Benchmark B7: the spiking LMU from a NIR file.

A psMNIST LMU (B5's model: memory, rectified-linear hidden units reading the
memory and the pixel, a dense readout) is trained in NengoDL with the exact
memory and rate units, then rebuilt for NIR: the memory in `CubaLIF` neurons
(`nengo_lmu.nir.memory_options`, which NIR consumers run exactly as Nengo
does) and the hidden units as spiking rectified-linear neurons
(`to_spiking`; exported with ``approximate=True`` as CubaLIF integrators).
It is exported with `nengo_lmu.nir.to_nir`, written and read back with
``nir.write``/``nir.read``, and run from the file by the library's reference
simulator and by Norse 1.1.0 (in ``.venv-norse``, see README.md).

    python tests/benchmarks/nir_lmu.py [--quick]

Keys: acc_rate (exact memory, rate units, NengoDL), acc_nengo_spiking (the
exported network in the Nengo reference simulator), acc_nir (from the file,
reference simulator), acc_norse (from the file, Norse), drop_nir (points below
acc_rate), nrmse_memory_nir (B1's delay memory, 600 CubaLIF neurons, from the
file, reference simulator).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).parent))

import nengo  # noqa: E402
import nir  # noqa: E402
import numpy as np  # noqa: E402
from spiking_lmu import accuracy, train  # noqa: E402

from nengo_lmu import LMU, LMUMemory  # noqa: E402
from nengo_lmu.nir import (  # noqa: E402
    memory_options,
    simulate,
    to_nir,
    undelay_input,
)
from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks import psmnist  # noqa: E402

DT = 0.001
ROOT = pathlib.Path(__file__).parent.parent.parent


def cell(steps, order, units, memory_kwargs=None, neurons=None, seed=0):
    """B5's psMNIST LMU: the exact memory, or a neural one (``neurons`` per
    dimension, ``memory_kwargs``)."""
    with nengo.Network(seed=seed) as net:
        net.stim = nengo.Node(np.zeros(1), label="pixels")
        net.lmu = LMU(
            1,
            1,
            order,
            steps * DT,
            hidden_units=units,
            hidden_neuron_type=nengo.RectifiedLinear(),
            hidden_recurrent=False,
            input_to_hidden=True,
            kernel_initializer=np.ones((1, 1)),
            memory_neurons_per_dimension=neurons,
            memory_kwargs=memory_kwargs or {},
            seed=seed,
        )
        nengo.Connection(net.stim, net.lmu.input, synapse=None)
        net.logits = nengo.Node(size_in=10, label="logits")
        limit = np.sqrt(6 / (units + 10))
        net.readout = nengo.Connection(
            net.lmu.output,
            net.logits,
            synapse=None,
            transform=np.random.RandomState(seed).uniform(-limit, limit, (10, units)),
        )
        net.probe = nengo.Probe(net.logits, synapse=None)
    return net


def copy_weights(src, dst):
    """The trained weights (everything but the memory) from ``src`` to ``dst``."""
    for key, conns in src.lmu.weight_connections.items():
        for a, b in zip(conns, dst.lmu.weight_connections[key]):
            b.transform = a.transform
    dst.lmu.hidden.bias = src.lmu.hidden.bias
    dst.readout.transform = src.readout.transform


def nengo_logits(net, x, synapse):
    """Last-step logits (filtered by ``synapse``) in the Nengo reference simulator."""
    current = {"seq": x[0]}
    net.stim.output = lambda t: current["seq"][
        min(int(round(t / DT)) - 1, len(x[0]) - 1)
    ]
    with net:
        probe = nengo.Probe(net.logits, synapse=synapse)
    out = []
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        for seq in x:
            current["seq"] = seq
            sim.reset()
            sim.run_steps(x.shape[1])
            out.append(sim.data[probe][-1])
    return np.array(out)


def norse_run(graph, inputs):
    python = os.environ.get(
        "NENGO_LMU_NORSE_PYTHON", str(ROOT / ".venv-norse/bin/python")
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        nir.write(tmp / "g.nir", graph)
        np.save(tmp / "in.npy", inputs.astype(np.float32))
        subprocess.run(
            [
                python,
                str(ROOT / "tests" / "norse_runner.py"),
                str(tmp / "g.nir"),
                str(tmp / "in.npy"),
                str(tmp / "out.npy"),
                str(DT),
            ],
            check=True,
            capture_output=True,
        )
        return np.load(tmp / "out.npy")


def last_logits(y, tau):
    """Filter outputs ``(batch, steps, 10)`` with Lowpass(tau); last step."""
    if np.isfinite(tau) and tau > 0:
        y = nengo.Lowpass(tau).filt(y, dt=DT, axis=1)
    return y[:, -1]


def memory_nrmse(path, seconds=5.0):
    """B1's delay memory (theta 1 s, order 6, 600 CubaLIF neurons, white noise
    of 1 Hz): NRMSE of u(t - 1 s) decoded from its NIR file."""
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(seconds, high=1, rms=0.3, seed=1))
        mem = LMUMemory(1.0, 6, neurons_per_dimension=100, seed=2, **memory_options())
        nengo.Connection(stim, mem.input, synapse=None)
        out = mem.add_delay_output(1.0)
        p = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(seconds)
    nir.write(path, to_nir(net, outputs=[out]))
    graph = nir.read(path)
    u = sim.data[p]
    y = nengo.Lowpass(0.01).filt(simulate(graph, u, dt=DT), dt=DT)
    uf = nengo.Lowpass(0.01).filt(u, dt=DT)
    k = int(round(1.0 / DT))
    return float(np.sqrt(np.mean((y[k:] - uf[:-k]) ** 2)) / np.std(uf))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument("--memory-neurons", type=int, default=100)
    parser.add_argument("--memory-tau", type=float, default=0.02)
    parser.add_argument("--input-rms", type=float, default=0.5)
    parser.add_argument("--input-high", type=float, default=400.0)
    parser.add_argument("--rate-scale", type=float, default=100.0)
    parser.add_argument("--hidden-synapse", type=float, default=0.005)
    parser.add_argument("--no-norse", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.quick:
        train_data, test = psmnist(n_train=500, n_test=200, subsample=4)
        epochs, units, lr = args.epochs or 10, args.units or 64, 0.1
    else:
        train_data, test = psmnist(n_train=4000, n_test=1000)
        epochs, units, lr = args.epochs or 8, args.units or 128, 1e-3
    x, y = test
    steps = x.shape[1]
    rate = cell(steps, args.order, units)
    train(rate, train_data, epochs, lr, unroll=4)
    acc_rate = accuracy(rate, x, y)
    t_train = time.perf_counter() - start

    options = memory_options(tau_syn=args.memory_tau, dt=DT)
    options.update(input_rms=args.input_rms, input_high=args.input_high)
    del options["dt"]  # the LMU passes its own
    net = cell(steps, args.order, units, options, args.memory_neurons)
    copy_weights(rate, net)
    # the memory's input arrives in the same step as the hidden units' pixel
    undelay_input(net.lmu.memory)
    spiking = to_spiking(net, synapse=args.hidden_synapse, rate_scale=args.rate_scale)
    labels = y[:, 0, 0]
    acc_nengo = float(
        np.mean(np.argmax(nengo_logits(spiking, x, args.hidden_synapse), -1) == labels)
    )
    t_nengo = time.perf_counter() - start - t_train

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "lmu.nir"
        nir.write(
            path, to_nir(spiking, dt=DT, outputs=[spiking.logits], approximate=True)
        )
        graph = nir.read(path)
        tau = float(graph.metadata["readout_tau"][0])
        logits_nir = last_logits(simulate(graph, x, dt=DT), tau)
        acc_nir = float(np.mean(np.argmax(logits_nir, -1) == labels))
        acc_norse = float("nan")
        if not args.no_norse:
            logits_norse = last_logits(norse_run(graph, x), tau)
            acc_norse = float(np.mean(np.argmax(logits_norse, -1) == labels))
        t_nir = time.perf_counter() - start - t_train - t_nengo
        nrmse = memory_nrmse(pathlib.Path(tmp) / "memory.nir")
    n_neurons = sum(e.n_neurons for e in spiking.all_ensembles)
    print(
        f"B7: {len(train_data[0])} training / {len(x)} test sequences of {steps} "
        f"pixels, order {args.order}, {args.memory_neurons} CubaLIF neurons per "
        f"memory dimension (tau_syn {args.memory_tau:g} s), {units} spiking "
        f"rectified-linear hidden units (rate scale {args.rate_scale:g}, synapse "
        f"{args.hidden_synapse:g} s), {n_neurons} neurons; {epochs} epochs; "
        f"{time.perf_counter() - start:.0f} s (train {t_train:.0f} s, Nengo "
        f"{t_nengo:.0f} s, NIR {t_nir:.0f} s)"
    )
    print(
        f"RESULT benchmark=B7 acc_rate={acc_rate:.4f} "
        f"acc_nengo_spiking={acc_nengo:.4f} acc_nir={acc_nir:.4f} "
        f"acc_norse={acc_norse:.4f} drop_nir={100 * (acc_rate - acc_nir):.2f} "
        f"nrmse_memory_nir={nrmse:.4f}"
    )


if __name__ == "__main__":
    main()
