import nengo
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from robustness import (
    HYPOTHESIS,
    attempt,
    hostile_kwargs,
    is_huge,
    matrices,
    orders,
    scalars,
    synapses,
    tally,
)

from nengo_lmu import LMU, LinearNetwork, LinearSystem, LMUMemory
from nengo_lmu.systems import LegendreDelay

DT = 0.001


def random_system(rng, n=3, m=2, p=2):
    """A stable analog system with feedthrough."""
    M = rng.normal(size=(n, n))
    A = -(M @ M.T) / n - 0.5 * np.eye(n) + (M - M.T)
    return LinearSystem(
        A, rng.normal(size=(n, m)), rng.normal(size=(p, n)), rng.normal(size=(p, m))
    )


def butterworth(cutoff_hz=2.0, order=4):
    zpk = scipy.signal.butter(order, 2 * np.pi * cutoff_hz, analog=True, output="zpk")
    return LinearSystem(*scipy.signal.zpk2ss(*zpk))


def run(net_fn, u, dt=DT, probe_synapse=None, seed=0):
    """Drive ``net_fn()``'s input with the rows of ``u``; probe state, output."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, dt))
        lin = net_fn()
        nengo.Connection(stim, lin.input, synapse=None)
        p_x = nengo.Probe(lin.state, synapse=probe_synapse)
        p_y = nengo.Probe(lin.output, synapse=probe_synapse)
    with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
        sim.run_steps(len(u))
    return lin, sim.data[p_x], sim.data[p_y]


@pytest.mark.parametrize("copies", [1, 2])
def test_exact_equals_scipy_dlsim(copies, rng):
    system = random_system(rng)
    n, m, p = system.state_size, system.input_size, system.output_size
    u = rng.normal(size=(200, copies * m))
    lin, x, y = run(lambda: LinearNetwork(system, copies=copies), u)
    Ad, Bd, Cd, Dd, _ = scipy.signal.cont2discrete(system.ss, DT, method="zoh")
    assert lin.discrete_system.allclose(LinearSystem(Ad, Bd, Cd, Dd, dt=DT))
    for c in range(copies):
        uc = u[:, c * m : (c + 1) * m]
        _, _, xref = scipy.signal.dlsim((Ad, Bd, Cd, Dd, DT), uc)
        # state[k] = Abar state[k-1] + Bbar u[k]: dlsim's x[k + 1]
        assert np.allclose(x[:-1, c * n : (c + 1) * n], xref[1:], atol=1e-10, rtol=0)
        # output[k] = C state[k] + D u[k]
        yref = xref[1:] @ Cd.T + uc[:-1] @ Dd.T
        assert np.allclose(y[:-1, c * p : (c + 1) * p], yref, atol=1e-10, rtol=0)
    assert lin.ensembles == [] and lin.gain_connection is None
    # one connection pair per copy (no dense block-diagonal transform) plus C, D
    transforms = [c.transform.init.shape for c in lin.all_connections]
    assert sorted(transforms) == sorted([(n, n), (n, m), (p, n), (p, m)] * copies)


def test_exact_discrete_system_and_state_output(rng):
    """A discrete system runs at its own dt; output="state" gives the state."""
    dt = 0.002
    Ad = np.array([[0.9, 0.2], [-0.1, 0.8]])
    system = LinearSystem(Ad, [[1.0], [0.5]], [[1.0, -1.0]], dt=dt)
    u = rng.normal(size=(100, 1))
    lin, x, y = run(lambda: LinearNetwork(system, output="state"), u, dt=dt)
    assert lin.dt == dt and lin.discrete_system is system
    assert lin.output is lin.state
    _, _, xref = scipy.signal.dlsim((Ad, system.B, system.C, system.D, dt), u)
    assert np.allclose(x[:-1], xref[1:], atol=1e-12)


def test_exact_euler_with_gain_connection(rng):
    system = random_system(rng, n=3, m=1, p=1)
    u = rng.normal(size=(150, 1))
    lin, x, _ = run(lambda: LinearNetwork(system, discretizer="euler"), u)
    A, B = system.A, system.B
    xk, ref = np.zeros(3), []
    for uk in u:  # x[k] = x[k-1] + dt (A x[k-1] + B u[k])
        xk = xk + DT * (A @ xk + B @ uk)
        ref.append(xk)
    assert np.allclose(x, ref, atol=1e-12)
    assert lin.gain_connection.transform.init == DT
    assert lin.discrete_system.allclose(system.discretize(DT, method="euler"))


def test_butterworth_in_spiking_neurons():
    """A 4th-order Butterworth low-pass (2 Hz) in spiking neurons against the
    exact filter computed by scipy."""
    system = butterworth(2.0)
    duration = 10.0
    proc = nengo.processes.WhiteSignal(duration, high=5, rms=0.3, y0=0, seed=1)
    u = proc.run(duration, dt=DT)

    def build():
        return LinearNetwork(
            system,
            neurons_per_dimension=200,
            synapse=nengo.Lowpass(0.05),
            neuron_type=nengo.SpikingRectifiedLinear(),
            input_rms=0.3,
            input_high=5,
            max_rates=nengo.dists.Uniform(100, 120),
        )

    lin, x, y = run(build, u, probe_synapse=0.01)
    assert len(lin.ensembles) == 4
    t = np.arange(len(u)) * DT
    _, yref, _ = scipy.signal.lsim(system.ss, u[:, 0], t, interp=False)
    yref = nengo.Lowpass(0.01).filt(yref, dt=DT, y0=0)
    nrmse = np.sqrt(np.mean((y[:, 0] - yref) ** 2)) / np.sqrt(np.mean(yref**2))
    # measured 0.072 (docs/guide/linear.rst)
    assert nrmse < 0.11, nrmse


def test_neural_multi_input_copies(rng):
    """Two copies of a 2-input, 2-output system with feedthrough, in rate neurons."""
    system = LinearSystem(
        [[-2.0, 1.0], [-1.0, -3.0]],
        [[1.0, 0.0], [0.5, 1.0]],
        [[1.0, 0.0], [0.3, 1.0]],
        [[0.2, 0.0], [0.0, -0.1]],
    )
    proc = nengo.processes.WhiteSignal(5.0, high=2, rms=0.3, y0=0, seed=2)
    u = proc.run(5.0, dt=DT, d=4)

    def build():
        return LinearNetwork(
            system,
            neurons_per_dimension=200,
            copies=2,
            synapse=nengo.Lowpass(0.05),
            input_high=2,
            neuron_type=nengo.RectifiedLinear(),
        )

    lin, x, y = run(build, u, probe_synapse=0.01)
    assert len(lin.ensembles) == 4
    for c in range(2):
        _, yref, _ = scipy.signal.lsim(
            system.ss, u[:, 2 * c : 2 * c + 2], np.arange(len(u)) * DT, interp=False
        )
        yref = nengo.Lowpass(0.01).filt(yref, dt=DT, y0=0)
        err = np.sqrt(np.mean((y[:, 2 * c : 2 * c + 2] - yref) ** 2, axis=0))
        # measured 0.005 to 0.009 (rate neurons: no spike noise)
        assert np.all(err / np.sqrt(np.mean(yref**2, axis=0)) < 0.03), err


def test_bad_linear_network_parameters():
    system = LinearSystem([[-1.0, 0.0], [1.0, -2.0]], [[1.0], [0.0]], [[0.0, 1.0]])
    cases = [
        ({"system": np.eye(2)}, "system"),
        ({"neurons_per_dimension": 0}, "neurons_per_dimension"),
        ({"synapse": 0.1}, "synapse"),
        ({"mapping_synapse": "x"}, "mapping_synapse"),
        ({"dt": 0}, "dt"),
        ({"copies": 0}, "copies"),
        ({"output": "y"}, "output"),
        ({"discretizer": "bilinear"}, "discretizer"),
        ({"realization": "legendre"}, "realization"),
        ({"ensemble_dimensions": 3}, "ensemble_dimensions"),
        ({"neuron_type": "LIF"}, "neuron_type"),
        ({"zero_order": -1}, "zero_order"),
        ({"max_rates": nengo.dists.Uniform(100, 200)}, "neurons_per_dimension"),
        ({"neurons_per_dimension": 10}, "input_high"),
        ({"system": system.discretize(0.01), "dt": 0.001}, "dt"),
        ({"system": system.discretize(0.01), "discretizer": "euler"}, "discretizer"),
    ]
    for kwargs, attr in cases:
        args = dict(system=system)
        args.update(kwargs)
        with nengo.Network():
            with pytest.raises(ValidationError, match=attr):
                LinearNetwork(**args)


# --- the LMU's memories all come from LinearNetwork ---------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"discretizer": "euler"},
        {"discretizer": "euler", "trainable_theta": True},
        {"trainable_theta": True},
        {"memory_neurons_per_dimension": 10},
        {"theta": None, "memory_matrices": "zoh"},
    ],
)
def test_every_lmu_memory_is_a_linear_network(kwargs):
    order, memory_d, theta = 4, 3, 0.05
    if kwargs.get("memory_matrices") == "zoh":
        disc = LegendreDelay(theta, order).discretize(DT)
        kwargs = dict(kwargs, memory_matrices=(disc.A, disc.B))
    args = dict(size_in=2, memory_d=memory_d, order=order, theta=theta, dt=DT)
    args.update(kwargs)
    with nengo.Network():
        lmu = LMU(**args)
    assert isinstance(lmu.memory, LinearNetwork)
    assert lmu.memory.input.size_in == memory_d
    assert lmu.memory.output.size_out == memory_d * order
    assert lmu.memory.discrete_system.state_size == order
    # no dense (memory_d * order)^2 transform anywhere in the memory
    for conn in lmu.memory.all_connections:
        assert np.size(getattr(conn.transform, "init", 1.0)) <= order * order
    assert set(lmu.fixed_connections) | {lmu.theta_connection} - {None} == set(
        lmu.memory.all_connections
    )
    if kwargs.get("trainable_theta") and kwargs.get("discretizer") != "euler":
        # the zero-order hold's trainable theta: an LMUMemory with a TensorNode
        assert isinstance(lmu.memory, LMUMemory)
        assert lmu.memory.theta == theta and lmu.memory.order == order
        assert lmu.theta_layer is lmu.memory.layer is not None
        assert lmu.theta_connection is None
        assert lmu.memory.discrete_system.A == pytest.approx(
            LegendreDelay(theta, order).discretize(DT).A
        )
    elif kwargs.get("trainable_theta"):
        assert lmu.theta_connection is lmu.memory.gain_connection
        assert lmu.theta_connection.transform.init == pytest.approx(DT / theta)
        assert lmu.theta_connection not in lmu.fixed_connections
    else:
        assert lmu.theta_connection is None


def test_legendre_realization_keeps_the_legendre_states():
    """LMUMemory's "legendre" is LinearNetwork's "given": the Legendre states,
    only scaled (a diagonal transform), built by LinearNetwork itself."""
    with nengo.Network():
        memory = LMUMemory(1.0, 4, neurons_per_dimension=20, realization="legendre")
        given = LinearNetwork(
            LegendreDelay(1.0, 4),
            neurons_per_dimension=20,
            input_high=1.0,
            output="state",
            realization="given",
        )
    assert memory.realization == "legendre"
    T = memory.state_transform
    assert np.allclose(T, np.diag(np.diag(T)))
    assert np.allclose(T, given.state_transform)
    with pytest.raises(ValidationError, match="legendre") as info:
        with nengo.Network():
            LMUMemory(1.0, 4, neurons_per_dimension=20, realization="given")
    assert info.value.attr == "realization"


# --- hostile input (see robustness.py) ----------------------------------------

SYSTEMS = [
    LinearSystem([[-1.0]], [[1.0]], [[1.0]]),
    LinearSystem([[-1.0, 2.0], [-2.0, -1.0]], [[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]),
    LinearSystem([[0.5, 0.1], [0.0, 0.9]], [[1.0], [1.0]], [[1.0, 0.0]], dt=0.001),
    LegendreDelay(0.5, 4),
]


@settings(max_examples=80, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {
            "system": st.sampled_from(SYSTEMS),
            "neurons_per_dimension": st.one_of(st.none(), st.integers(1, 8)),
            "synapse": st.one_of(
                st.builds(nengo.Lowpass, st.floats(0.01, 0.2)),
                st.builds(nengo.Alpha, st.floats(0.01, 0.2)),
            ),
            "copies": st.integers(1, 3),
            "output": st.sampled_from(["system", "state"]),
            "zero_order": st.integers(0, 3),
            "input_high": st.floats(0.1, 20),
        },
        {
            "system": st.one_of(matrices(), scalars),
            "neurons_per_dimension": st.sampled_from([0, -1, 2.5, "5", 10**12]),
            "synapse": synapses,
            "copies": st.one_of(orders, st.just(10**12)),
            "output": st.sampled_from(["y", None, 1]),
            "zero_order": st.one_of(orders, scalars),
            "input_high": scalars,
        },
    )
)
def hostile_linear_network(kw):
    """Any mix of valid and hostile arguments: a working network or a
    ValidationError, never another exception."""
    with nengo.Network():
        network = attempt(
            "LinearNetwork",
            LinearNetwork,
            kw.pop("system"),
            huge_allocation=is_huge(kw["copies"], kw["neurons_per_dimension"]),
            **kw,
        )
        if network is not None:
            attempt("LinearNetwork.add_output", network.add_output, np.sum)


def test_hostile_linear_network():
    """Any mix of valid and hostile arguments: a working network or a
    ValidationError, never another exception.

    Each function is tried at least 40 times here, and LinearNetwork both
    refuses and accepts some of the arguments."""
    with tally("LinearNetwork", "LinearNetwork.add_output", minimum=40) as seen:
        hostile_linear_network()
    assert seen["LinearNetwork", "refused"] and seen["LinearNetwork", "worked"], seen
