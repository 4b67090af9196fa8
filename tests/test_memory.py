import gc
import os
import subprocess
import sys
import time
import tracemalloc
import warnings

import nengo
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from robustness import (
    DT,
    HYPOTHESIS,
    attempt,
    hostile_kwargs,
    is_huge,
    matrices,
    orders,
    pickle_roundtrip_outputs,
    report,
    scalars,
    synapses,
    tally,
)

from nengo_lmu.basis import delay_readout
from nengo_lmu.mapping import double_exp
from nengo_lmu.networks import LMUMemory
from nengo_lmu.systems import LegendreDelay


def run_memory(u, dt=0.001, probe_synapse=None, readouts=(), seed=0, **kwargs):
    """Drive an LMUMemory with the rows of ``u`` (one per step), probe outputs."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, dt))
        memory = LMUMemory(size_in=u.shape[1], dt=dt, **kwargs)
        nengo.Connection(stim, memory.input, synapse=None)
        probes = [nengo.Probe(memory.output, synapse=probe_synapse)]
        for kind, arg in readouts:
            node = (
                memory.add_delay_output(arg)
                if kind == "delay"
                else memory.add_window_output(**arg)
            )
            probes.append(nengo.Probe(node, synapse=probe_synapse))
        ens_probes = [nengo.Probe(e, "input", synapse=None) for e in memory.ensembles]
    with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
        sim.run_steps(len(u))
    return memory, [sim.data[p] for p in probes], [sim.data[p] for p in ens_probes]


@pytest.mark.parametrize("order, size_in", [(1, 1), (4, 1), (6, 3), (12, 2)])
def test_exact_memory_equals_discrete_system(order, size_in, rng):
    theta, dt = 0.05, 0.001
    u = rng.normal(size=(300, size_in))
    memory, (out,), _ = run_memory(u, theta=theta, order=order)
    system = LegendreDelay(theta, order).discretize(dt)
    for d in range(size_in):
        _, x = system.simulate(u[:, d], return_states=True)
        # output[k] = Abar m[k-1] + Bbar u[k], which is dlsim's x[k + 1]
        got = out[:, d * order : (d + 1) * order]
        assert np.allclose(got[:-1], x[1:], atol=1e-10, rtol=0)
    assert memory.ensembles == []


def test_exact_memory_dimensions_are_independent(rng):
    u = rng.normal(size=(200, 3))
    u_only_first = u.copy()
    u_only_first[:, 1:] = 0
    _, (out,), _ = run_memory(u, theta=0.05, order=4)
    _, (out1,), _ = run_memory(u_only_first, theta=0.05, order=4)
    assert np.allclose(out[:, :4], out1[:, :4], atol=1e-12)
    assert np.allclose(out1[:, 4:], 0)


def test_exact_delay_and_window_outputs(rng):
    u = rng.normal(size=(400, 2))
    order = 5
    readouts = [
        ("delay", [0.5, 1.0]),
        ("window", {"n_points": 3}),
        ("window", {"function": lambda r: np.ones_like(r)}),
    ]
    _, (state, delay, window, mean), _ = run_memory(
        u, theta=0.1, order=order, readouts=readouts
    )
    for d in range(2):
        m = state[:, d * order : (d + 1) * order]
        assert np.allclose(
            delay[:, 2 * d : 2 * d + 2], m @ delay_readout(order, [0.5, 1]).T
        )
        assert np.allclose(
            window[:, 3 * d : 3 * d + 3], m @ delay_readout(order, [0, 0.5, 1]).T
        )
        # the mean of the window is the first Legendre coefficient
        assert np.allclose(mean[:, d], m[:, 0], atol=1e-6)


def test_bad_memory_parameters():
    cases = [
        ({"theta": 0}, "theta"),
        ({"theta": np.nan}, "theta"),
        ({"order": 0}, "order"),
        ({"order": 1.5}, "order"),
        ({"size_in": 0}, "size_in"),
        ({"neurons_per_dimension": 0}, "neurons_per_dimension"),
        ({"neurons_per_dimension": 2.5}, "neurons_per_dimension"),
        ({"synapse": 0.1}, "synapse"),
        ({"synapse": None}, "synapse"),
        ({"dt": -0.001}, "dt"),
        ({"theta": 1e-4}, "theta"),  # shorter than dt
        (
            {"neurons_per_dimension": 10, "ensemble_dimensions": 4},
            "ensemble_dimensions",
        ),
        ({"neurons_per_dimension": 10, "neuron_type": "LIF"}, "neuron_type"),
        ({"max_rates": nengo.dists.Uniform(100, 200)}, "neurons_per_dimension"),
        ({"neurons_per_dimension": 10, "input_rms": -1}, "input_rms"),
    ]
    for kwargs, attr in cases:
        args = dict(theta=1.0, order=6)
        args.update(kwargs)
        with nengo.Network():
            with pytest.raises(ValidationError, match=attr):
                LMUMemory(**args)


def test_bad_readouts():
    with nengo.Network():
        memory = LMUMemory(1.0, 4)
        for r in [-0.1, 1.5, np.nan, [0.2, 7]]:
            with pytest.raises(ValidationError, match="r"):
                memory.add_delay_output(r)
        with pytest.raises(ValidationError, match="n_points"):
            memory.add_window_output()
        with pytest.raises(ValidationError, match="n_points"):
            memory.add_window_output(n_points=0)
        with pytest.raises(ValidationError, match="function"):
            memory.add_window_output(function=lambda r: np.nan * r)


def white_input(duration, seed, dt=0.001):
    proc = nengo.processes.WhiteSignal(
        period=duration, high=1, rms=0.3, y0=0, seed=seed
    )
    return proc.run_steps(int(round(duration / dt)), dt=dt)


def delay_nrmse(decoded, u, r, theta=1.0, dt=0.001):
    """NRMSE against the ideal delayed input, both filtered by Lowpass(0.01)."""
    shift = int(round(r * theta / dt))
    ideal = np.concatenate([np.zeros(shift), u[: len(u) - shift]])
    ideal = nengo.Lowpass(0.01).filt(ideal, dt=dt, y0=0)
    return np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))


SPIKING = dict(
    theta=1.0,
    order=6,
    neurons_per_dimension=100,
    neuron_type=nengo.SpikingRectifiedLinear(),
    max_rates=nengo.dists.Uniform(100, 120),
    input_rms=0.3,
    input_high=1.0,
)


@pytest.fixture(scope="module")
def spiking_run():
    u = white_input(10.0, seed=1)
    memory, outputs, ens_inputs = run_memory(
        u, probe_synapse=0.01, readouts=[("delay", [0.25, 0.5, 1.0])], seed=1, **SPIKING
    )
    return u[:, 0], memory, outputs, ens_inputs


@pytest.mark.parametrize(
    "index, r, bound", [(0, 0.25, 0.15), (1, 0.5, 0.15), (2, 1.0, 0.09)]
)
def test_spiking_memory_delays(spiking_run, index, r, bound):
    # Measured (seed 1, 10 s): 0.105, 0.108, 0.063 (the baseline recipe of
    # benchmark B1 gives about 0.33 at r = 1 with the same neurons). Bounds are
    # the measurements plus about 40% for other seeds (seed 0 gave 0.101,
    # 0.102, 0.056). Interior delays have larger readout coefficients, which
    # amplify the spike noise more than the all-ones readout of r = 1.
    u, _, (state, delays), _ = spiking_run
    assert delay_nrmse(delays[:, index], u, r) < bound


def test_spiking_memory_states_stay_in_radius(spiking_run):
    _, memory, _, ens_inputs = spiking_run
    z = np.hstack(ens_inputs)
    assert z.shape[1] == 6
    # scaled for 3 standard deviations within radius 1: 99.7% for a Gaussian
    # state; spike noise adds a little
    assert np.mean(np.abs(z) > 1.0) < 0.01
    assert np.max(np.abs(z)) < 1.25
    # and each state uses its range (std about 1/3), unlike the raw Legendre
    # states, whose std for this input ranges from 0.03 to 0.3
    assert np.all(z.std(axis=0) > 0.2)


def test_neural_output_is_in_legendre_coordinates(spiking_run):
    """The neural output tracks the exact state, one step behind."""
    u, memory, (state, _), _ = spiking_run
    _, x = memory.discrete_system.simulate(u, return_states=True)
    x = nengo.Lowpass(0.01).filt(x, dt=0.001, y0=0)
    for i in range(3):  # the larger, lower-order coefficients
        corr = np.corrcoef(state[:, i], x[:, i])[0, 1]
        assert corr > 0.9, (i, corr)


def test_memory_in_nengo_dl():
    import nengo_dl

    u = white_input(3.0, seed=2)
    with nengo.Network(seed=2) as net:
        stim = nengo.Node(np.zeros(1))
        exact = LMUMemory(1.0, 6)
        neural = LMUMemory(**SPIKING)
        for memory in (exact, neural):
            nengo.Connection(stim, memory.input, synapse=None)
        p_exact = nengo.Probe(exact.output, synapse=None)
        p_neural = nengo.Probe(neural.add_delay_output(1.0), synapse=0.01)
    with nengo_dl.Simulator(net, progress_bar=False) as sim:
        out = sim.predict({stim: u[None]}, n_steps=len(u))
    _, x = exact.discrete_system.simulate(u, return_states=True)
    # float32 in NengoDL: equal to the float64 discrete system to 1e-5
    assert np.allclose(out[p_exact][0, :-1], x[1:], atol=1e-5)
    # the spiking memory decodes the delay as in the reference simulator
    # (measured 0.059 here; the spike timing differs from nengo.Simulator)
    err = delay_nrmse(out[p_neural][0, :, 0], u[:, 0], 1.0)
    assert err < 0.12


# ---------------------------------------------------------------------------
# Capacity of the exact memory


def delay_capacity(theta_steps, order, bandwidths, n_windows=2):
    """NRMSE of ``u(t - theta)`` read from the exact memory in
    nengo.Simulator, for white noise of each bandwidth (Hz) in ``bandwidths``,
    measured over the last ``n_windows - 1`` windows."""
    theta, n = theta_steps * DT, n_windows * theta_steps
    signals = np.hstack(
        [
            nengo.processes.WhiteSignal(
                n * DT, high=high, rms=0.3, y0=0, seed=1 + i
            ).run_steps(n, dt=DT)
            for i, high in enumerate(bandwidths)
        ]
    )
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.PresentInput(signals, DT))
        memory = LMUMemory(theta, order, size_in=len(bandwidths))
        nengo.Connection(stim, memory.input, synapse=None)
        delayed = nengo.Probe(memory.add_delay_output(1.0), synapse=None)
    t0 = time.time()
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(n)
    u, y = signals, sim.data[delayed]
    # m[k] holds u up to and including step k: the delay output at step k
    # approximates u[k - theta_steps]
    err = y[theta_steps:] - u[: n - theta_steps]
    nrmse = np.sqrt(np.mean(err**2, axis=0)) / np.std(u, axis=0)
    for high, e in zip(bandwidths, nrmse):
        report(
            f"capacity theta={theta_steps} steps order={order}: white noise to "
            f"{high:.3f} Hz (omega theta / order = "
            f"{2 * np.pi * high * theta / order:.2f}) read back after theta: "
            f"NRMSE {e:.4f} ({n} steps, {time.time() - t0:.1f} s)"
        )
    return nrmse


def test_capacity_exact_memory():
    # The [order-1/order] Pade delay resolves omega theta < ~2 order (its
    # error jumps from 0.02 to 0.9 between 1.8 and 2 order); a band to
    # omega theta = order is well inside, 3 order well outside.
    theta_steps, q = 10_000, 256
    theta = theta_steps * DT
    in_band, out_of_band = q / (2 * np.pi * theta), 3 * q / (2 * np.pi * theta)
    nrmse = delay_capacity(theta_steps, q, [in_band, out_of_band])
    assert nrmse[0] < 0.02  # measured 0.0066
    assert nrmse[1] > 0.3  # measured 0.71: the test can tell


@pytest.mark.slow
def test_capacity_exact_memory_theta_100k_order_1024():
    theta_steps, q = 100_000, 1024
    theta = theta_steps * DT
    nrmse = delay_capacity(theta_steps, q, [q / (2 * np.pi * theta)], n_windows=2)
    assert nrmse[0] < 0.02


# ---------------------------------------------------------------------------
# Long simulations


def run_in_chunks(sim, n_steps, n_chunks=4):
    """Run ``n_steps`` in chunks, tracing Python/NumPy allocations (tracemalloc)
    from after the build. Returns allocated bytes after each chunk, the peak
    of each half, and the time."""
    per_chunk = n_steps // n_chunks
    tracemalloc.start()
    try:
        current, peaks = [], []
        t0 = time.time()
        for c in range(n_chunks):
            if c == n_chunks // 2:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.reset_peak()
            sim.run_steps(per_chunk)
            gc.collect()
            current.append(tracemalloc.get_traced_memory()[0])
        peaks.append(tracemalloc.get_traced_memory()[1])
        elapsed = time.time() - t0
    finally:
        tracemalloc.stop()
    return np.array(current), np.array(peaks), elapsed


def check_long_run(label, sim, n_steps, probes, expected_samples):
    current, peaks, elapsed = run_in_chunks(sim, n_steps)
    report(
        f"{label}: {n_steps} steps in {elapsed:.1f} s "
        f"({1e6 * elapsed / n_steps:.0f} us/step with tracemalloc); traced memory "
        f"after each quarter {', '.join(f'{c / 1024:.0f}' for c in current)} KiB; "
        f"peak 1st half {peaks[0] / 1024:.0f} KiB, 2nd half {peaks[1] / 1024:.0f} KiB"
    )
    probe_bytes = 0  # what the probes keep by design: one small array a sample
    for probe, n_samples in zip(probes, expected_samples):
        data = sim.data[probe]
        assert data.shape[0] == n_samples
        assert np.all(np.isfinite(data)), label
        probe_bytes += (n_samples // 2) * (data[0].nbytes + 256)
    # nothing but the probes' data grows: the memory added in the second half
    # (and the rise of the peak) stays within that plus 256 KiB
    growth = current[-1] - current[len(current) // 2 - 1]
    report(
        f"{label}: growth over the 2nd half {growth / 1024:.0f} KiB, of which the "
        f"probes' samples account for up to {probe_bytes / 1024:.0f} KiB"
    )
    assert growth < probe_bytes + 2**18
    assert peaks[1] - peaks[0] < probe_bytes + 2**18
    return current, peaks


def exact_memory_net(theta=10.0, order=64):
    with nengo.Network(seed=0) as net:
        noise = nengo.processes.FilteredNoise(
            synapse=nengo.Lowpass(0.05), dist=nengo.dists.Gaussian(0, 1), seed=1
        )
        stim = nengo.Node(noise)
        memory = LMUMemory(theta, order)
        nengo.Connection(stim, memory.input, synapse=None)
        delayed = memory.add_delay_output([0.5, 1.0])
        net.watch = [
            nengo.Probe(memory.output, sample_every=1.0),
            nengo.Probe(delayed, sample_every=0.1),
        ]
    return net


def spiking_memory_net(seed=0):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=1, rms=0.3, seed=1))
        memory = LMUMemory(
            1.0,
            6,
            neurons_per_dimension=100,
            neuron_type=nengo.SpikingRectifiedLinear(),
        )
        nengo.Connection(stim, memory.input, synapse=None)
        delayed = memory.add_delay_output(1.0)
        net.watch = [
            nengo.Probe(delayed, synapse=0.01, sample_every=0.1),
            nengo.Probe(memory.output, synapse=0.01, sample_every=1.0),
        ]
    return net


def run_exact_long(n_steps):
    net = exact_memory_net()
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        check_long_run(
            "exact LMUMemory theta=10 s order=64",
            sim,
            n_steps,
            net.watch,
            [n_steps // 1000, n_steps // 100],
        )
        assert np.abs(sim.data[net.watch[1]]).max() < 10


def run_spiking_long(n_steps):
    net = spiking_memory_net()
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        check_long_run(
            "spiking LMUMemory theta=1 s order=6 100 neurons/dim",
            sim,
            n_steps,
            net.watch,
            [n_steps // 100, n_steps // 1000],
        )
        # the delayed signal (rms 0.3) stays in range
        assert np.abs(sim.data[net.watch[0]]).max() < 2


def test_long_simulation_exact_memory():
    run_exact_long(20_000)


def test_long_simulation_spiking_memory():
    run_spiking_long(8_000)


@pytest.mark.slow
def test_long_simulation_exact_memory_million_steps():
    run_exact_long(1_000_000)


@pytest.mark.slow
def test_long_simulation_spiking_memory_100k_steps():
    run_spiking_long(100_000)


# ---------------------------------------------------------------------------
# NaN and inf reaching a running memory (documented in LMUMemory's Notes)


def _bad_input_run(value, **memory_kwargs):
    bad_step, n = 200, 600

    # a Node *function* returning NaN is refused by Nengo itself
    # (SimulationError); a process, or an upstream computation, passes it on
    values = np.sin(2 * np.pi * DT * np.arange(n))[:, None]
    values[bad_step] = value
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.PresentInput(values, DT))
        memory = LMUMemory(0.1, 6, **memory_kwargs)
        nengo.Connection(stim, memory.input, synapse=None)
        probe = nengo.Probe(memory.output, synapse=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
            sim.run_steps(n)
            out = sim.data[probe].copy()
            sim.reset()
            sim.run_steps(bad_step - 1)
            after_reset = sim.data[probe].copy()
    return out, after_reset, bad_step


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_input_poisons_exact_memory_until_reset(value):
    out, after_reset, bad = _bad_input_run(value)
    # PresentInput gives values[k] at step k (row k): the bad sample enters the
    # state at row bad
    assert np.all(np.isfinite(out[:bad]))
    # from then on every state is NaN (inf becomes NaN through inf - inf in Abar m)
    assert np.all(np.isnan(out[bad + 1 :]))
    # sim.reset() clears it
    assert np.all(np.isfinite(after_reset))


def test_nan_input_poisons_spiking_memory_until_reset():
    out, after_reset, bad = _bad_input_run(
        np.nan, neurons_per_dimension=20, neuron_type=nengo.SpikingRectifiedLinear()
    )
    assert np.all(np.isfinite(out[:bad]))
    # the NaN reaches the neurons' voltages and the recurrent synapses' state:
    # from then on the memory's output is NaN, until sim.reset()
    assert np.all(np.isnan(out[bad + 1 :]))
    assert np.all(np.isfinite(after_reset))


# ---------------------------------------------------------------------------
# Hostile input (see robustness.py)


MEMORY_EXTRAS = [
    {"input_rms": float("nan")},
    {"input_rms": 1e300},
    {"input_high": 0},
    {"input_high": 1e300},
    {"n_std": -1},
    {"realization": "foo"},
    {"ensemble_dimensions": 5},
    {"ensemble_dimensions": 0},
    {"neuron_type": "LIF"},
    {"neuron_type": nengo.LIF()},
    {"radius": float("nan")},
    {"max_rates": nengo.dists.Uniform(-10, 0)},
    {"label": 3},
    {"seed": "x"},
    {"mapping_synapse": nengo.Alpha(0.01)},
    {"mapping_synapse": "x"},
    {"realization": "scaled"},
    {"realization": "legendre"},
    {"zero_order": -1},
    {"zero_order": 3},
    {"discretizer": "euler"},
    {"discretizer": "bilinear"},
    {"n_neurons": 5},
]


@settings(max_examples=100, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {
            "theta": st.floats(0.01, 2),
            "order": st.integers(1, 6),
            "size_in": st.integers(1, 3),
            "neurons_per_dimension": st.one_of(st.none(), st.integers(1, 10)),
            "synapse": st.builds(nengo.Lowpass, st.floats(0.01, 0.2)),
            "dt": st.sampled_from([0.001, 0.002]),
            "extra": st.just({}),
            "r": st.one_of(
                st.floats(0, 1), st.lists(st.floats(0, 1), min_size=1, max_size=4)
            ),
        },
        {
            "order": orders,
            "size_in": st.one_of(orders, st.just(10**12)),
            "neurons_per_dimension": st.sampled_from([0, -1, 2.5, "5", 10**12, True]),
            "synapse": synapses,
            "extra": st.sampled_from(MEMORY_EXTRAS),
            "r": st.one_of(scalars, matrices()),
        },
    )
)
def hostile_lmu_memory(kw):
    memory = attempt(
        "LMUMemory",
        LMUMemory,
        kw["theta"],
        kw["order"],
        size_in=kw["size_in"],
        neurons_per_dimension=kw["neurons_per_dimension"],
        synapse=kw["synapse"],
        dt=kw["dt"],
        huge_allocation=is_huge(kw["size_in"]),
        **kw["extra"],
    )
    if memory is not None:
        attempt("add_delay_output", memory.add_delay_output, kw["r"])
        attempt("add_output", memory.add_output, lambda w: w[kw["order"] % 3])


def test_hostile_lmu_memory():
    """Any mix of valid and hostile arguments: a memory or a ValidationError.

    Each function is tried at least 40 times here, and LMUMemory
    both refuses and accepts some of the arguments."""
    with tally("LMUMemory", "add_delay_output", "add_output", minimum=40) as seen:
        hostile_lmu_memory()
    assert seen["LMUMemory", "refused"] and seen["LMUMemory", "worked"], seen


# ---------------------------------------------------------------------------
# Repeatability

REPEAT_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {tests!r})
import numpy as np
from test_memory import repeat_run
np.save({exact!r}, repeat_run(optimize=False))
np.save({optimized!r}, repeat_run(optimize=True))
"""


def repeat_run(n_steps=1000, seed=3, optimize=True):
    net = spiking_memory_net(seed=seed)
    with nengo.Simulator(net, dt=DT, progress_bar=False, optimize=optimize) as sim:
        sim.run_steps(n_steps)
        return np.array(sim.data[net.watch[0]])


def test_same_seed_same_spiking_output_in_process_and_across_processes(tmp_path):
    # Nengo's operator optimizer (optimize=True, the default) merges operators
    # in an order that varies from build to build, so sums may round
    # differently in the last bit (measured 4e-17 here, and the same in a
    # plain Nengo network): identical bits need optimize=False.
    exact = [repeat_run(optimize=False) for _ in range(2)]
    optimized = [repeat_run(optimize=True) for _ in range(3)]
    assert np.array_equal(exact[0], exact[1])
    assert np.any(exact[0] != 0)
    for data in optimized:
        assert np.allclose(data, exact[0], rtol=0, atol=1e-12)
    report(
        "same seed, one process: optimize=False bit-identical; optimize=True max "
        f"difference {max(np.abs(d - exact[0]).max() for d in optimized):.1e}"
    )
    assert not np.allclose(repeat_run(seed=4), exact[0])  # the seed matters
    tests = os.path.dirname(os.path.abspath(__file__))
    paths = {
        "exact": str(tmp_path / "exact.npy"),
        "optimized": str(tmp_path / "opt.npy"),
    }
    subprocess.run(
        [sys.executable, "-c", REPEAT_SCRIPT.format(tests=tests, **paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert np.array_equal(np.load(paths["exact"]), exact[0])
    assert np.allclose(np.load(paths["optimized"]), exact[0], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# Pickling


def test_pickled_lmu_memory_networks_give_identical_outputs():
    for kwargs in (
        {},
        {"neurons_per_dimension": 30, "neuron_type": nengo.SpikingRectifiedLinear()},
    ):

        def make(kwargs=kwargs):
            with nengo.Network(seed=1) as net:
                stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=2, seed=2))
                net.memory = LMUMemory(0.2, 5, **kwargs)
                nengo.Connection(stim, net.memory.input, synapse=None)
                net.probe = nengo.Probe(net.memory.add_delay_output(1.0), synapse=0.01)
            return net

        net, clone, (a, b) = pickle_roundtrip_outputs(make)
        assert isinstance(clone.memory, LMUMemory)
        assert clone.memory.discrete_system.allclose(net.memory.discrete_system)
        assert np.array_equal(a, b) and np.any(a != 0)


# --- higher-order synapses (zeros of the zero-order-hold synapse) ------------


@pytest.mark.parametrize("synapse", [nengo.Alpha(0.1), double_exp(0.1, 0.02)])
def test_higher_order_synapse_direct_mode_follows_exact_memory(synapse):
    """With Direct-mode ensembles (no neuron error) the recurrence through
    Nengo's own zoh Alpha / double exponential follows the exact memory,
    1 + input_delay steps late, to the zero_order=1 approximation."""
    u = white_input(2.0, seed=3)
    memory, (out,), _ = run_memory(
        u,
        theta=1.0,
        order=6,
        neurons_per_dimension=1,
        synapse=synapse,
        neuron_type=nengo.Direct(),
    )
    assert memory.input_delay == 2  # q = 2 poles + 1 Taylor term of the zero
    _, x = memory.discrete_system.simulate(u, return_states=True)
    d = memory.input_delay  # output[k] = x[k + 1] exactly; neural is 1 + d late
    # measured 1.1e-5 (Alpha) and 1.7e-5 (double exponential)
    assert np.abs(out[d:] - x[: len(u) - d]).max() < 1e-4 * np.abs(x).max()


@pytest.fixture(scope="module")
def synapse_runs():
    """The delay task on Lowpass, Alpha and double-exponential recurrent
    synapses (default memory, 100 spiking neurons per dimension), and the
    exact memory's decoded delay as reference."""
    u = white_input(6.0, seed=4)
    synapses = {
        "lowpass": nengo.Lowpass(0.1),
        "alpha": nengo.Alpha(0.1),
        "double_exp": double_exp(0.1, 0.02),
    }
    with nengo.Network(seed=4) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, 0.001))
        exact = LMUMemory(1.0, 6)
        nengo.Connection(stim, exact.input, synapse=None)
        probes = {"exact": nengo.Probe(exact.add_delay_output(1.0), synapse=0.01)}
        for name, synapse in synapses.items():
            memory = LMUMemory(synapse=synapse, **SPIKING)
            nengo.Connection(stim, memory.input, synapse=None)
            probes[name] = nengo.Probe(memory.add_delay_output(1.0), synapse=0.01)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(len(u))
    exact = sim.data[probes["exact"]][:, 0]
    rms = np.sqrt(np.mean(u**2))
    return {
        k: np.sqrt(np.mean((sim.data[p][:, 0] - exact) ** 2)) / rms
        for k, p in probes.items()
        if k != "exact"
    }


@pytest.mark.parametrize("name", ["lowpass", "alpha", "double_exp"])
def test_higher_order_synapses_on_delay_task(synapse_runs, name):
    # measured (seed 4, 6 s) against the exact memory: Lowpass 0.069, Alpha
    # 0.071, double exponential 0.074; with the input advances summed onto
    # the current input instead of delayed, Alpha gives about 1 (see
    # docs/guide/memory.rst for the benchmark figures)
    assert synapse_runs[name] < 0.09, synapse_runs
    # as accurate as on a Lowpass, give or take spike noise
    assert synapse_runs[name] < 1.3 * synapse_runs["lowpass"], synapse_runs


# --- neural memories that cannot be built: errors that say what works ------------


@pytest.mark.parametrize(
    "theta, order, attr, words",
    [
        (0.002, 6, "theta", ["theta=0.002", "input_high", "larger theta"]),
        (
            0.005,
            12,
            "order",
            ["order=12", "realization='legendre'", "larger theta", "lower order"],
        ),
        (
            1.0,
            150,
            "order",
            ["order=150", "realization='legendre'", "larger theta", "lower order"],
        ),
        (1e308, 6, "theta", ["theta=1e+308", "smaller theta"]),
    ],
)
def test_neural_memory_errors_name_theta_or_order(theta, order, attr, words):
    with pytest.raises(ValidationError) as info:
        LMUMemory(theta, order, neurons_per_dimension=10)
    assert info.value.attr == attr
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert "input_high: must be below" not in str(info.value)


def test_suggested_realization_works():
    # what the message suggests builds
    for theta, order in [(0.005, 12), (1.0, 150)]:
        LMUMemory(theta, order, neurons_per_dimension=2, realization="legendre")
    # an input_high the user gave is named as given
    with pytest.raises(ValidationError, match="input_high"):
        LMUMemory(0.002, 6, neurons_per_dimension=10, input_high=600)


# --- nonlinear functions of the window ----------------------------------------


def true_windows(u, n_points, theta=1.0, dt=0.001):
    """The window of the known input: row k holds u[k - s] for the delays s
    from 0 to theta in n_points steps (zero before the start)."""
    shifts = np.round(np.linspace(0, theta, n_points) / dt).astype(int)
    pad = np.concatenate([np.zeros(shifts.max()), u])
    return np.stack(
        [pad[shifts.max() - s : shifts.max() - s + len(u)] for s in shifts], axis=1
    )


WINDOW_FUNCTIONS = {
    "energy": lambda w: np.mean(w**2),
    "abs_delay": lambda w: abs(w[-1]),
    "product": lambda w: w[0] * w[-1],
}


def window_function_errors(neurons_per_dimension, duration, seed):
    u = white_input(duration, seed=seed)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, 0.001))
        kwargs = (
            {}
            if neurons_per_dimension is None
            else dict(SPIKING, neurons_per_dimension=neurons_per_dimension)
        )
        memory = LMUMemory(**dict(dict(theta=1.0, order=6), **kwargs))
        nengo.Connection(stim, memory.input, synapse=None)
        probes = {
            k: nengo.Probe(memory.add_output(f), synapse=0.01)
            for k, f in WINDOW_FUNCTIONS.items()
        }
        p_state = nengo.Probe(memory.output, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(len(u))
    windows = true_windows(u[:, 0], 100)
    errors = {}
    for k, f in WINDOW_FUNCTIONS.items():
        ref = nengo.Lowpass(0.01).filt(
            np.array([f(w) for w in windows]), dt=0.001, y0=0
        )
        y = sim.data[probes[k]][1000:, 0]  # after the first second's window
        errors[k] = np.sqrt(np.mean((y - ref[1000:]) ** 2)) / np.std(ref[1000:])
    return (
        memory,
        sim.data[p_state],
        {k: sim.data[p] for k, p in probes.items()},
        errors,
    )


def test_exact_window_functions():
    memory, state, outputs, errors = window_function_errors(None, 4.0, seed=5)
    # the Node applies the function to the decoded window, step by step
    W = delay_readout(6, np.linspace(0, 1, 100))
    for k, f in WINDOW_FUNCTIONS.items():
        direct = np.array([f(W @ m) for m in state])
        ref = nengo.Lowpass(0.01).filt(direct, dt=0.001, y0=0)
        # (a probe's synapse output at step k is filt's at step k - 1)
        assert np.allclose(outputs[k][1:, 0], ref[:-1], atol=1e-9)
    # against the function of the true window, the error is the order-6
    # window's: measured 0.007, 0.035, 0.062 here (4 s; 0.004, 0.017, 0.090
    # over 10 s)
    assert errors["energy"] < 0.02 and errors["abs_delay"] < 0.05, errors
    assert errors["product"] < 0.15, errors
    assert memory.all_ensembles == []


def test_neural_window_functions():
    """f(window) decoded from spiking neurons, against f of the true window."""
    memory, _, _, errors = window_function_errors(100, 6.0, seed=5)
    # measured 0.114, 0.174, 0.139 here (6 s; 0.124, 0.158, 0.224 over 10 s,
    # docs/guide/memory.rst); the memory's own delay error is about 0.06
    assert errors["energy"] < 0.2, errors
    assert errors["abs_delay"] < 0.25, errors
    assert errors["product"] < 0.35, errors
    # the readout ensembles are not the realisation's
    assert len(memory.ensembles) == 6
    assert len(memory.all_ensembles) == 6 + 3
    assert all(
        e.n_neurons == 1800 and e.dimensions == 6 for e in memory.all_ensembles[6:]
    )


def test_bad_window_functions():
    with nengo.Network():
        exact = LMUMemory(1.0, 4)
        neural = LMUMemory(1.0, 4, neurons_per_dimension=10)
        for memory in (exact, neural):
            with pytest.raises(ValidationError, match="function"):
                memory.add_output("mean")
            with pytest.raises(ValidationError, match="function"):
                memory.add_output(lambda w: w.reshape(2, -1))
            with pytest.raises(ValidationError, match="function"):
                memory.add_output(lambda w: np.nan)
            with pytest.raises(ValidationError, match="function"):
                memory.add_output(lambda w: w["x"])
        with pytest.raises(ValidationError, match="neurons"):
            exact.add_output(np.sum, neurons=100)
        with pytest.raises(ValidationError, match="neurons"):
            neural.add_output(np.sum, neurons=0)
        with pytest.raises(ValidationError, match="synapse"):
            neural.add_output(np.sum, synapse="fast")
        with pytest.raises(ValidationError, match="n_points"):
            neural.add_output(np.sum, n_points=0)
