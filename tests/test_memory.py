import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

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
            node = (memory.add_delay_output(arg) if kind == "delay"
                    else memory.add_window_output(**arg))
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
        got = out[:, d * order:(d + 1) * order]
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
    readouts = [("delay", [0.5, 1.0]), ("window", {"n_points": 3}),
                ("window", {"function": lambda r: np.ones_like(r)})]
    _, (state, delay, window, mean), _ = run_memory(
        u, theta=0.1, order=order, readouts=readouts)
    for d in range(2):
        m = state[:, d * order:(d + 1) * order]
        assert np.allclose(delay[:, 2 * d:2 * d + 2], m @ delay_readout(order, [0.5, 1]).T)
        assert np.allclose(window[:, 3 * d:3 * d + 3],
                           m @ delay_readout(order, [0, 0.5, 1]).T)
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
        ({"neurons_per_dimension": 10, "ensemble_dimensions": 4}, "ensemble_dimensions"),
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
    proc = nengo.processes.WhiteSignal(period=duration, high=1, rms=0.3, y0=0,
                                       seed=seed)
    return proc.run_steps(int(round(duration / dt)), dt=dt)


def delay_nrmse(decoded, u, r, theta=1.0, dt=0.001):
    """NRMSE against the ideal delayed input, both filtered by Lowpass(0.01)."""
    shift = int(round(r * theta / dt))
    ideal = np.concatenate([np.zeros(shift), u[: len(u) - shift]])
    ideal = nengo.Lowpass(0.01).filt(ideal, dt=dt, y0=0)
    return np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))


SPIKING = dict(theta=1.0, order=6, neurons_per_dimension=100,
               neuron_type=nengo.SpikingRectifiedLinear(),
               max_rates=nengo.dists.Uniform(100, 120), input_rms=0.3, input_high=1.0)


@pytest.fixture(scope="module")
def spiking_run():
    u = white_input(10.0, seed=1)
    memory, outputs, ens_inputs = run_memory(
        u, probe_synapse=0.01, readouts=[("delay", [0.25, 0.5, 1.0])], seed=1,
        **SPIKING)
    return u[:, 0], memory, outputs, ens_inputs


@pytest.mark.parametrize("index, r, bound", [(0, 0.25, 0.15), (1, 0.5, 0.15),
                                             (2, 1.0, 0.09)])
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


# --- higher-order synapses (zeros of the zero-order-hold synapse) ------------


@pytest.mark.parametrize("synapse", [nengo.Alpha(0.1), double_exp(0.1, 0.02)])
def test_higher_order_synapse_direct_mode_follows_exact_memory(synapse):
    """With Direct-mode ensembles (no neuron error) the recurrence through
    Nengo's own zoh Alpha / double exponential follows the exact memory,
    1 + input_delay steps late, to the zero_order=1 approximation."""
    u = white_input(2.0, seed=3)
    memory, (out,), _ = run_memory(
        u, theta=1.0, order=6, neurons_per_dimension=1, synapse=synapse,
        neuron_type=nengo.Direct())
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
    synapses = {"lowpass": nengo.Lowpass(0.1), "alpha": nengo.Alpha(0.1),
                "double_exp": double_exp(0.1, 0.02)}
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
    return {k: np.sqrt(np.mean((sim.data[p][:, 0] - exact) ** 2)) / rms
            for k, p in probes.items() if k != "exact"}


@pytest.mark.parametrize("name", ["lowpass", "alpha", "double_exp"])
def test_higher_order_synapses_on_delay_task(synapse_runs, name):
    # measured (seed 4, 6 s) against the exact memory: Lowpass 0.069, Alpha
    # 0.071, double exponential 0.074; with the input advances summed onto
    # the current input instead of delayed, Alpha gives about 1 (see
    # docs/guide/memory.rst for the benchmark figures)
    assert synapse_runs[name] < 0.09, synapse_runs
    # as accurate as on a Lowpass, give or take spike noise
    assert synapse_runs[name] < 1.3 * synapse_runs["lowpass"], synapse_runs


# --- nonlinear functions of the window ----------------------------------------


def true_windows(u, n_points, theta=1.0, dt=0.001):
    """The window of the known input: row k holds u[k - s] for the delays s
    from 0 to theta in n_points steps (zero before the start)."""
    shifts = np.round(np.linspace(0, theta, n_points) / dt).astype(int)
    pad = np.concatenate([np.zeros(shifts.max()), u])
    return np.stack([pad[shifts.max() - s: shifts.max() - s + len(u)]
                     for s in shifts], axis=1)


WINDOW_FUNCTIONS = {
    "energy": lambda w: np.mean(w**2),
    "abs_delay": lambda w: abs(w[-1]),
    "product": lambda w: w[0] * w[-1],
}


def window_function_errors(neurons_per_dimension, duration, seed):
    u = white_input(duration, seed=seed)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, 0.001))
        kwargs = {} if neurons_per_dimension is None else dict(
            SPIKING, neurons_per_dimension=neurons_per_dimension)
        memory = LMUMemory(**dict(dict(theta=1.0, order=6), **kwargs))
        nengo.Connection(stim, memory.input, synapse=None)
        probes = {k: nengo.Probe(memory.add_output(f), synapse=0.01)
                  for k, f in WINDOW_FUNCTIONS.items()}
        p_state = nengo.Probe(memory.output, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(len(u))
    windows = true_windows(u[:, 0], 100)
    errors = {}
    for k, f in WINDOW_FUNCTIONS.items():
        ref = nengo.Lowpass(0.01).filt(np.array([f(w) for w in windows]), dt=0.001,
                                       y0=0)
        y = sim.data[probes[k]][1000:, 0]  # after the first second's window
        errors[k] = np.sqrt(np.mean((y - ref[1000:]) ** 2)) / np.std(ref[1000:])
    return memory, sim.data[p_state], {k: sim.data[p] for k, p in probes.items()}, errors


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
    assert all(e.n_neurons == 1800 and e.dimensions == 6
               for e in memory.all_ensembles[6:])


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
