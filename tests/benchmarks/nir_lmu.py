"""Benchmark B7: the spiking LMU from a NIR file.

A psMNIST LMU (B5's model: memory, rectified-linear hidden units reading the
memory and the pixel, a dense readout) is trained in NengoDL with the exact
memory and rate units, then rebuilt for NIR: the memory in `CubaLIF` neurons
(`nengo_lmu.nir.memory_options`, which NIR consumers run exactly as Nengo
does) and the hidden units as spiking rectified-linear neurons
(`to_spiking`; exported with ``approximate=True`` as CubaLIF integrators).
The rebuilt cell runs ``--steps-per-pixel`` simulator steps per pixel
(``steps_per_sample``; default 4, each pixel held), and its readout is refitted
(softmax regression, no bias) on the hidden units' spikes at the last step as
the reference simulator runs the exported graph on the training digits
(``--no-refit`` keeps the trained readout). It is exported with
`nengo_lmu.nir.to_nir`, written and read back with ``nir.write``/``nir.read``,
and run from the file by the library's reference simulator and by Norse 1.1.0
(in ``.venv-norse``, see README.md).

    python tests/benchmarks/nir_lmu.py [--quick] [--steps-per-pixel K]

Keys: acc_rate (exact memory, rate units, NengoDL, one step per pixel),
acc_nengo_spiking (the exported network in the Nengo reference simulator; the
first 100 test digits with ``--quick``), acc_nir (from the file, reference
simulator), acc_norse (from the file, Norse), drop_nir (points below
acc_rate), nrmse_memory_nir (B1's delay memory, 600 CubaLIF neurons, from the
file, reference simulator), steps_per_pixel.
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
import scipy.optimize  # noqa: E402
from spiking_lmu import accuracy, train  # noqa: E402

from nengo_lmu import LMU, LMUMemory  # noqa: E402
from nengo_lmu.nir import (  # noqa: E402
    memory_options,
    simulate,
    to_nir,
    undelay_input,
)
from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

DT = 0.001
ROOT = pathlib.Path(__file__).parent.parent.parent


def cell(steps, order, units, memory_kwargs=None, neurons=None, seed=0, k=1):
    """B5's psMNIST LMU: the exact memory, or a neural one (``neurons`` per
    dimension, ``memory_kwargs``), at ``k`` simulator steps per pixel."""
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
            steps_per_sample=k,
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
    """Last-step logits in the Nengo reference simulator, probed with
    ``synapse`` (None for B7: `to_spiking` already filters the hidden units'
    spikes on their way to the readout, as ``readout_tau`` does for NIR)."""
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


def hidden_slice(graph, ensemble):
    """Where ``ensemble``'s neurons are in the exported graph's neuron node."""
    names = list(graph.metadata["populations"])
    sizes = np.asarray(graph.metadata["population_sizes"], dtype=int)
    i = names.index(str(ensemble.label or ensemble))
    start = int(np.sum(sizes[:i]))
    return slice(start, start + int(sizes[i]))


def refit_readout(net, x, labels, tau, l2=1e-3):
    """Refit ``net.readout`` (no bias, as the exported readout has none) by
    softmax regression on the hidden units' spikes at the last step (filtered
    by ``tau``), as the reference simulator runs the exported graph on ``x``
    (pixels already repeated for the steps per pixel)."""
    graph = to_nir(
        net, dt=DT, inputs=[net.stim], outputs=[net.logits], approximate=True
    )
    neurons = [n for n, node in graph.nodes.items() if isinstance(node, nir.CubaLIF)]
    _, rec = simulate(graph, x, dt=DT, record=neurons[:1])
    spikes = rec[neurons[0]][..., hidden_slice(graph, net.lmu.hidden)]
    feats = last_logits(spikes, tau)  # spikes of 1 per step, as in NIR
    scale = feats.std(axis=0) + 1e-6
    a, onehot = feats / scale, np.eye(10)[labels]
    n_feats = a.shape[1]

    def loss(w):
        w = w.reshape(n_feats, 10)
        z = a @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(p[np.arange(len(a)), labels] + 1e-12))
        grad = a.T @ (p - onehot) / len(a) + l2 * w
        return value + 0.5 * l2 * np.sum(w**2), grad.ravel()

    w = scipy.optimize.minimize(
        loss, np.zeros(n_feats * 10), jac=True, method="L-BFGS-B"
    ).x.reshape(n_feats, 10)
    # a Nengo spike is amplitude / dt where NIR's is 1
    amplitude = net.lmu.hidden.neuron_type.amplitude
    net.readout.transform = (w / scale[:, None]).T * DT / amplitude
    return float(np.mean(np.argmax(a @ w, -1) == labels))


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
    parser.add_argument("--steps-per-pixel", type=int, default=4)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    parser.add_argument("--hidden-synapse", type=float, default=0.005)
    parser.add_argument("--no-refit", action="store_true")
    parser.add_argument("--nengo-test", type=int, default=None)
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
    k = args.steps_per_pixel
    net = cell(steps, args.order, units, options, args.memory_neurons, k=k)
    copy_weights(rate, net)
    # the memory's input arrives in the same step as the hidden units' pixel
    undelay_input(net.lmu.memory)
    spiking = to_spiking(net, synapse=args.hidden_synapse, rate_scale=args.rate_scale)
    x = np.repeat(x, k, axis=1)  # each pixel held for k steps
    labels = y[:, 0, 0]
    acc_refit = float("nan")
    if not args.no_refit:
        acc_refit = refit_readout(
            spiking,
            np.repeat(train_data[0], k, axis=1),
            train_data[1][:, 0, 0].astype(int),
            args.hidden_synapse,
        )
    t_refit = time.perf_counter() - start - t_train
    n_nengo = args.nengo_test or (100 if args.quick else len(x))
    acc_nengo = float(
        np.mean(
            np.argmax(nengo_logits(spiking, x[:n_nengo], None), -1) == labels[:n_nengo]
        )
    )
    t_nengo = time.perf_counter() - start - t_train - t_refit

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "lmu.nir"
        nir.write(
            path,
            to_nir(
                spiking,
                dt=DT,
                inputs=[spiking.stim],
                outputs=[spiking.logits],
                approximate=True,
            ),
        )
        graph = nir.read(path)
        tau = float(graph.metadata["readout_tau"][0])
        logits_nir = last_logits(simulate(graph, x, dt=DT), tau)
        acc_nir = float(np.mean(np.argmax(logits_nir, -1) == labels))
        acc_norse = float("nan")
        if not args.no_norse:
            logits_norse = last_logits(norse_run(graph, x), tau)
            acc_norse = float(np.mean(np.argmax(logits_norse, -1) == labels))
        t_nir = time.perf_counter() - start - t_train - t_refit - t_nengo
        nrmse = memory_nrmse(pathlib.Path(tmp) / "memory.nir")
    n_neurons = sum(e.n_neurons for e in spiking.all_ensembles)
    print(
        f"B7: {len(train_data[0])} training / {len(x)} test sequences of {steps} "
        f"pixels, {k} step(s) per pixel, order {args.order}, "
        f"{args.memory_neurons} CubaLIF neurons per "
        f"memory dimension (tau_syn {args.memory_tau:g} s), {units} spiking "
        f"rectified-linear hidden units (rate scale {args.rate_scale:g}, synapse "
        f"{args.hidden_synapse:g} s), {n_neurons} neurons; {epochs} epochs; "
        f"readout refit on the spiking features: train accuracy {acc_refit:.4f}; "
        f"Nengo run on {n_nengo} test sequences; "
        f"{time.perf_counter() - start:.0f} s (train {t_train:.0f} s, refit "
        f"{t_refit:.0f} s, Nengo {t_nengo:.0f} s, NIR {t_nir:.0f} s)"
    )
    print(
        f"RESULT benchmark=B7 acc_rate={acc_rate:.4f} "
        f"acc_nengo_spiking={acc_nengo:.4f} acc_nir={acc_nir:.4f} "
        f"acc_norse={acc_norse:.4f} drop_nir={100 * (acc_rate - acc_nir):.2f} "
        f"nrmse_memory_nir={nrmse:.4f} steps_per_pixel={k}"
    )


if __name__ == "__main__":
    main()
