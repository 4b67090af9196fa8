"""The delay task (nengo_lmu.tasks.delay): data and the delay experiment."""

import nengo
import numpy as np
import pytest
import scipy.signal
from nengo.exceptions import ValidationError

from nengo_lmu import LMUMemory, tasks
from nengo_lmu.tasks import delay

# --- delay task -----------------------------------------------------------------


def test_delay_task_targets_are_shifted_inputs():
    dt, theta, steps = 0.001, 0.1, 1000
    r = [0.0, 0.25, 0.5, 1.0]
    x, y = tasks.delay_task(5, steps, theta, r=r, dt=dt, high=20.0, seed=2)
    assert x.shape == (5, steps, 1) and y.shape == (5, steps, 4)
    assert x.dtype == y.dtype == np.float32
    for j, rj in enumerate(r):
        shift = int(round(rj * theta / dt))
        assert np.array_equal(y[:, shift:, j], x[:, : steps - shift, 0])
        assert np.all(y[:, :shift, j] == 0)

    # the input is the documented WhiteSignal, one dimension per example
    ref = nengo.processes.WhiteSignal(steps * dt, high=20.0, rms=0.5, y0=0, seed=2)
    u = ref.run_steps(steps, d=5, dt=dt)
    assert np.allclose(x[:, :, 0], u.T.astype(np.float32))
    assert abs(x.std() - 0.5) < 0.1 and np.all(abs(x[:, 0, 0]) < 0.05)


def test_delay_task_scalar_r_and_rounding():
    x, y = tasks.delay_task(2, 300, theta=0.0504, dt=0.001, dtype="float64")
    assert y.shape == (2, 300, 1) and x.dtype == np.float64
    assert np.array_equal(y[:, 50:, 0], x[:, :-50, 0])  # 50.4 steps -> 50
    x, y = tasks.delay_task(1, 20, theta=1.0, dt=0.01, high=10.0)  # delay > length
    assert np.all(y == 0)


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"theta": 0}, "theta"),
        ({"theta": -0.1}, "theta"),
        ({"r": 1.5}, "r"),
        ({"r": [0.5, -0.1]}, "r"),
        ({"n_samples": 0}, "n_samples"),
        ({"steps": 0}, "steps"),
        ({"dt": 0}, "dt"),
        ({"high": 600.0}, "high"),
        ({"high": 0.5}, "high"),
        ({"rms": 0}, "rms"),
    ],
)
def test_delay_task_bad_input(kwargs, attr):
    args = dict(n_samples=2, steps=1000, theta=0.1)
    args.update(kwargs)
    with pytest.raises(ValidationError, match=attr):
        tasks.delay_task(**args)


# --- the delay experiment ---------------------------------------------------------


def lowpass_reference(x, tau, dt):
    """Nengo's discrete Lowpass (zero-order hold), written out:
    y[k] = a y[k-1] + (1 - a) x[k] with a = exp(-dt / tau), y[-1] = 0."""
    a = np.exp(-dt / tau)
    return scipy.signal.lfilter([1 - a], [1, -a], x)


def test_delay_nrmse_against_a_written_out_reference():
    rng = np.random.RandomState(0)
    dt, theta, r = 0.001, 0.1, 0.5
    u = rng.randn(1000)
    decoded = rng.randn(1000) * 0.1
    shift = 50
    ideal = lowpass_reference(np.r_[np.zeros(shift), u[:-shift]], delay.PROBE_TAU, dt)
    expected = np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))
    assert np.isclose(
        delay.delay_nrmse(decoded, u, r, theta, dt), expected, rtol=1e-12, atol=0
    )


def test_run_delay_input_and_errors():
    result = delay.run_delay(
        theta=0.2, order=4, neurons_per_dimension=30, duration=1.0, progress_bar=False
    )
    # the input is the named white noise: INPUT_HIGH Hz, INPUT_RMS
    u = nengo.processes.WhiteSignal(
        1.0, high=delay.INPUT_HIGH, rms=delay.INPUT_RMS, y0=0, seed=0
    ).run(1.0, dt=0.001)[:, 0]
    assert np.array_equal(result["u"], u)
    assert result["neural"].shape == result["exact"].shape == (1000, len(delay.DELAYS))
    for i, r in enumerate(delay.DELAYS):
        shift = int(round(r * 0.2 / 0.001))
        ideal = lowpass_reference(np.r_[np.zeros(shift), u[:-shift]], 0.01, 0.001)
        rms = np.sqrt(np.mean(u**2))
        for j, key in enumerate(["neural", "exact"]):
            want = np.sqrt(np.mean((result[key][:, i] - ideal) ** 2)) / rms
            assert np.isclose(result["nrmse"][r][j], want, rtol=1e-9)
        assert result["nrmse"][r][1] < 0.05  # the exact memory delays well


def test_delay_network_backends_map_the_memory():
    from nengo_lmu import loihi

    plain = delay.delay_network(
        theta=0.5, order=4, neurons_per_dimension=20, duration=1.0
    )
    assert plain.backend == "nengo" and plain.theta == 0.5 and plain.duration == 1.0
    assert plain.memory.mapping_synapse.tau == 0.1
    assert all(
        isinstance(ens.neuron_type, nengo.SpikingRectifiedLinear)
        for ens in plain.memory.all_ensembles
    )
    mapped = delay.delay_network(
        theta=0.5, order=4, neurons_per_dimension=20, duration=1.0, backend="loihi"
    )
    expected = loihi.loop_synapse(0.1, 0.001)
    assert mapped.backend == "loihi"
    assert np.allclose(mapped.memory.mapping_synapse.num, expected.num)
    assert np.allclose(mapped.memory.mapping_synapse.den, expected.den)
    assert mapped.memory.realization == "balanced"


@pytest.mark.parametrize("backend", ["gpu", None, 3, "Nengo"])
def test_run_delay_refuses_unknown_backends_before_building(backend, monkeypatch):
    def fail(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("built a network for an unknown backend")

    monkeypatch.setattr(delay, "LMUMemory", fail)
    with pytest.raises(ValidationError, match="backend"):
        delay.run_delay(backend=backend)


def test_neuron_options():
    relu = delay.neuron_options("SpikingRectifiedLinear")
    assert isinstance(relu["neuron_type"], nengo.SpikingRectifiedLinear)
    assert relu["max_rates"].low == 100 and relu["max_rates"].high == 120
    lif = delay.neuron_options("LIF")
    assert isinstance(lif["neuron_type"], nengo.LIF) and lif["max_rates"] is None
    for name in delay.NEURON_TYPES:
        assert type(delay.neuron_options(name)["neuron_type"]).__name__ == name
    with pytest.raises(ValidationError, match="neuron_type"):
        delay.neuron_options("Tanh")


def test_delay_nrmse_with_a_delay_longer_than_the_signal():
    u = np.ones(100)
    # nothing of the input has come out yet: the ideal is all zeros
    assert delay.delay_nrmse(np.zeros(100), u, 1.0, 0.2, 0.001) == 0.0


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        (dict(theta=3.0, duration=2.0), "theta"),
        (dict(theta=2.0, duration=2.0), "theta"),
        (dict(theta=1e-4), "theta"),
        (dict(seed=-1), "seed"),
    ],
)
def test_delay_experiment_checked_before_building(kwargs, attr, monkeypatch):
    def fail(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("built a network for bad settings")

    monkeypatch.setattr(delay, "LMUMemory", fail)
    with pytest.raises(ValidationError, match=attr):
        delay.run_delay(progress_bar=False, **kwargs)


def test_delay_experiment_limits():
    ok = delay.check_delay_experiment(1.0, 6, 100, 20.0, limits=delay.LIMITS)
    assert ok["steps"] == 20_000
    for args, attr in [
        ((1.0, 6, 100_000, 20.0), "neurons_per_dimension"),
        ((1.0, 2000, 1, 20.0), "order"),
        ((1.0, 6, 100, 2000.0), "duration"),
        ((1.0, 100, 1000, 100.0), "duration"),
    ]:
        with pytest.raises(ValidationError, match="too large") as info:
            delay.check_delay_experiment(*args, limits=delay.LIMITS)
        assert info.value.attr == attr
    # without limits (the library's own use) large runs are allowed
    delay.check_delay_experiment(1.0, 6, 100_000, 2000.0)


def test_systems_guide_states_which_probe_filter_gives_which_nrmse():
    """docs/guide/systems.rst quotes the exact memory's delay NRMSE with and
    without the probe filter; both are recomputed here."""
    import pathlib
    import re

    text = (
        pathlib.Path(__file__).parent.parent / "docs" / "guide" / "systems.rst"
    ).read_text()
    filtered, unfiltered = (
        float(v)
        for v in re.search(
            r"NRMSE (0\.\d+)\. That figure.*?it is (0\.\d+)", text, re.S
        ).groups()
    )
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(
            nengo.processes.WhiteSignal(
                20.0, high=delay.INPUT_HIGH, rms=delay.INPUT_RMS, y0=0, seed=0
            )
        )
        memory = LMUMemory(1.0, 6)
        nengo.Connection(stim, memory.input, synapse=None)
        out = memory.add_delay_output(1.0)
        raw = nengo.Probe(out, synapse=None)
        probed = nengo.Probe(out, synapse=delay.PROBE_TAU)
        p_u = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(20.0)
    u = sim.data[p_u][:, 0]
    assert (
        round(delay.delay_nrmse(sim.data[probed][:, 0], u, 1.0, 1.0, 0.001), 4)
        == filtered
    )
    ideal = np.r_[np.zeros(1000), u[:-1000]]
    nrmse = np.sqrt(np.mean((sim.data[raw][:, 0] - ideal) ** 2)) / np.sqrt(
        np.mean(u**2)
    )
    assert round(nrmse, 4) == unfiltered
