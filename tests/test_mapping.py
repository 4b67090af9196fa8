import nengo
import numpy as np
import pytest
import scipy.linalg
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from robustness import (
    HYPOTHESIS,
    attempt,
    check_system,
    check_tried,
    hostile_kwargs,
    orders,
    synapses,
)

from nengo_lmu.mapping import (
    balanced_realization,
    scaled_realization,
    ss2sim,
    state_covariance,
)
from nengo_lmu.systems import LegendreDelay, LinearSystem


def white(steps, dt=0.001, high=1.0, rms=0.3, seed=0, period=None):
    period = steps * dt if period is None else period
    proc = nengo.processes.WhiteSignal(period=period, high=high, rms=rms, y0=0,
                                       seed=seed)
    return proc.run_steps(steps, dt=dt)


@pytest.mark.parametrize("tau", [0.005, 0.1])
@pytest.mark.parametrize("order", [3, 6])
def test_discrete_lowpass_mapping_is_exact(tau, order):
    dt = 0.001
    sys = LegendreDelay(1.0, order)
    mapped = ss2sim(sys, nengo.Lowpass(tau), dt=dt)
    a = np.exp(-dt / tau)
    # the recurrence a Lowpass synapse computes, x <- a x + (1 - a) v, written
    # out in numpy and driven by v = Ahat x + Bhat u
    u = white(3000)
    x = np.zeros(order)
    synapse_states = []
    for uk in u:
        synapse_states.append(x)
        x = a * x + (1 - a) * (mapped.A @ x + mapped.B @ uk)
    _, ref = sys.discretize(dt).simulate(u, return_states=True)
    assert np.allclose(np.array(synapse_states), ref, atol=1e-8, rtol=0)


def test_discrete_lowpass_mapping_matches_nengo_synapse():
    """Nengo's own Lowpass implementation as the synapse in the recurrence."""
    dt, tau, order = 0.001, 0.05, 4
    sys = LegendreDelay(0.5, order)
    mapped = ss2sim(sys, nengo.Lowpass(tau), dt=dt)
    syn = nengo.Lowpass(tau)
    state = syn.make_state((order,), (order,), dt)
    step = syn.make_step((order,), (order,), dt, rng=None, state=state)
    u = white(2000, high=2.0)
    x = np.zeros(order)
    xs = []
    for uk in u:
        v = mapped.A @ x + mapped.B @ uk
        xs.append(x)
        x = np.array(step(0, v))
    _, ref = sys.discretize(dt).simulate(u, return_states=True)
    # each step of nengo's Lowpass returns a y + (1 - a) v: the next state
    assert np.allclose(np.array(xs), ref, atol=1e-8)


def closed_loop_response(mapped, synapse, sys, u_columns, dt):
    """Simulate x = h * (Ahat x + Bhat w) in continuous time, where h is the
    synapse's own state-space form (scipy.signal.tf2ss) and w the stacked
    input and its derivatives; return x(t)."""
    As, Bs, Cs, Ds = scipy.signal.tf2ss(synapse.num, synapse.den)
    assert np.allclose(Ds, 0)
    n = sys.state_size
    eye = np.eye(n)
    # synapse states for every dimension: s' = As s + Bs v, x = Cs s
    A_syn, B_syn, C_syn = np.kron(eye, As), np.kron(eye, Bs), np.kron(eye, Cs)
    A_cl = A_syn + B_syn @ mapped.A @ C_syn
    B_cl = B_syn @ mapped.B
    t = np.arange(len(u_columns)) * dt
    _, x, _ = scipy.signal.lsim((A_cl, B_cl, C_syn, np.zeros((n, B_cl.shape[1]))),
                                u_columns, t)
    return x


def test_analog_lowpass_mapping_principle3():
    sys = LegendreDelay(0.5, 4)
    synapse = nengo.Lowpass(0.02)
    mapped = ss2sim(sys, synapse)
    assert mapped.analog
    assert np.allclose(mapped.A, 0.02 * sys.A + np.eye(4))
    assert np.allclose(mapped.B, 0.02 * sys.B)
    dt = 1e-4
    t = np.arange(20000) * dt
    u = np.sin(2 * np.pi * t) + 0.5 * np.cos(2 * np.pi * 3.3 * t)
    x = closed_loop_response(mapped, synapse, sys, u[:, None], dt)
    _, _, ref = scipy.signal.lsim((sys.A, sys.B, np.eye(4), 0 * sys.B), u, t)
    assert np.allclose(x, ref, atol=1e-8)


def test_analog_alpha_mapping_with_derivative():
    """Higher-order synapse: the input term needs u and u'."""
    sys = LegendreDelay(0.5, 4)
    synapse = nengo.Alpha(0.02)
    mapped = ss2sim(sys, synapse)
    assert mapped.input_size == 2  # u and its derivative
    dt = 1e-4
    t = np.arange(20000) * dt
    # u(0) = u'(0) = 0, so that zero initial states are consistent
    w1, w2 = 2 * np.pi, 2 * np.pi * 3.3
    u = np.sin(w1 * t) ** 2 + 0.5 * np.sin(w2 * t) ** 2
    du = w1 * np.sin(2 * w1 * t) + 0.5 * w2 * np.sin(2 * w2 * t)
    x = closed_loop_response(mapped, synapse, sys, np.column_stack([u, du]), dt)
    _, _, ref = scipy.signal.lsim((sys.A, sys.B, np.eye(4), 0 * sys.B), u, t)
    assert np.max(np.abs(x - ref)) < 1e-5 * np.max(np.abs(ref))
    # dropping the derivative term is measurably wrong
    x0 = closed_loop_response(mapped, synapse, sys, np.column_stack([u, 0 * du]), dt)
    assert np.max(np.abs(x0 - ref)) > 100 * np.max(np.abs(x - ref))


def test_higher_order_mapping_frequency_domain():
    """(c(s) I - c(A))^-1 sum_j B_j s^j == (s I - A)^-1 B for every s."""
    sys = LegendreDelay(1.0, 5)
    synapse = nengo.LinearFilter([1.0], [1e-4, 3e-3, 0.05, 1.0])  # third order
    mapped = ss2sim(sys, synapse)
    q = 3
    assert mapped.input_size == q
    for s in 1j * np.array([0.3, 2.0, 11.0]) + 0.1:
        c = np.polyval(synapse.den, s) / synapse.num[-1]
        lhs = np.linalg.solve(
            c * np.eye(5) - mapped.A,
            sum(mapped.B[:, [j]] * s**j for j in range(q)),
        )
        rhs = np.linalg.solve(s * np.eye(5) - sys.A, sys.B)
        assert np.allclose(lhs, rhs, rtol=1e-9)


def test_discrete_higher_order_all_pole_synapse():
    """A discrete double-pole synapse, (1 - a)^2 / (z - a)^2, driven with the
    input and its one-step advance."""
    dt, a = 0.001, np.exp(-0.001 / 0.03)
    synapse = nengo.LinearFilter([(1 - a) ** 2], np.poly([a, a]), analog=False)
    sys = LegendreDelay(0.5, 4)
    mapped = ss2sim(sys, synapse, dt=dt)
    assert mapped.input_size == 2
    u = white(3000, high=2.0)[:, 0]
    _, ref = sys.discretize(dt).simulate(u, return_states=True)
    # (z - a)^2 y = (1 - a)^2 v  =>  y[k+2] = 2a y[k+1] - a^2 y[k] + (1-a)^2 v[k]
    y = np.zeros((len(u), 4))
    y[:2] = ref[:2]
    for k in range(len(u) - 2):
        v = mapped.A @ y[k] + mapped.B[:, 0] * u[k] + mapped.B[:, 1] * u[k + 1]
        y[k + 2] = 2 * a * y[k + 1] - a**2 * y[k] + (1 - a) ** 2 * v
    assert np.allclose(y, ref, atol=1e-8)


def test_ss2sim_bad_input():
    sys = LegendreDelay(1.0, 3)
    for bad in [None, 0.1, "lowpass", nengo.synapses.Triangle(0.1)]:
        with pytest.raises(ValidationError, match="synapse"):
            ss2sim(sys, bad, dt=0.001)
    with pytest.raises(ValidationError, match="synapse"):
        ss2sim(sys, nengo.Alpha(0.1), dt=0.001)  # zoh Alpha has a zero
    with pytest.raises(ValidationError, match="dt"):
        ss2sim(sys, nengo.Lowpass(0.1), dt=-1)
    with pytest.raises(ValidationError, match="dt"):
        ss2sim(sys.discretize(0.001), nengo.Lowpass(0.1), dt=0.002)
    with pytest.raises(ValidationError, match="system"):
        ss2sim("not a system", nengo.Lowpass(0.1))


def assert_same_transfer(a, b):
    w = np.logspace(-2, 2, 40)
    assert np.allclose(a.frequency_response(w), b.frequency_response(w),
                       rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("discrete", [False, True])
def test_balanced_realization(discrete):
    sys = LegendreDelay(1.0, 6)
    sys = sys.discretize(0.001) if discrete else sys
    balanced, T = balanced_realization(sys)
    assert_same_transfer(balanced, sys)
    assert balanced.allclose(sys.transform(T))
    A, B, C, _ = balanced.ss
    if discrete:
        Wc = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
        Wo = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C)
    else:
        Wc = scipy.linalg.solve_continuous_lyapunov(A, -B @ B.T)
        Wo = scipy.linalg.solve_continuous_lyapunov(A.T, -C.T @ C)
    scale = np.abs(Wc).max()
    assert np.allclose(Wc, Wo, atol=1e-7 * scale)
    assert np.allclose(Wc, np.diag(np.diag(Wc)), atol=1e-7 * scale)
    assert np.all(np.diff(np.diag(Wc)) < 0)  # ordered by Hankel singular value


def test_balanced_realization_rejects_unstable_and_nonminimal():
    with pytest.raises(ValidationError, match="stable"):
        balanced_realization(LinearSystem([[1.0]], [[1.0]], [[1.0]]))
    with pytest.raises(ValidationError, match="minimal"):
        balanced_realization(LinearSystem(-np.eye(2), [[1.0], [0.0]], [[1.0, 1.0]]))


@pytest.mark.parametrize("discrete", [False, True])
def test_scaled_realization_keeps_states_in_radius(discrete):
    dt = 0.001
    sys = LegendreDelay(1.0, 6)
    sys = sys.discretize(dt) if discrete else sys
    scaled, T = scaled_realization(sys, input_rms=0.3, input_high=1.0, radius=1.0,
                                   n_std=3.0)
    assert_same_transfer(scaled, sys)
    assert np.allclose(T, np.diag(np.diag(T)))
    # Nengo's WhiteSignal as the independent input: 200 s with a long period,
    # so that its spectrum is close to the stated flat band
    u = white(200000, period=200, seed=1)
    _, z = scaled.simulate(u, dt=None if discrete else dt, return_states=True)
    z = z[2000:]
    std = z.std(axis=0)
    assert np.allclose(std, 1 / 3, rtol=0.15), std
    # a Gaussian stays within 3 standard deviations 99.7% of the time
    assert np.mean(np.abs(z) > 1.0) < 0.01
    # the unscaled Legendre states have very unequal ranges
    _, x = sys.simulate(u, dt=None if discrete else dt, return_states=True)
    assert x.std(axis=0).max() > 5 * x.std(axis=0).min()


def test_state_covariance_matches_simulation():
    sys = LegendreDelay(0.3, 3).discretize(0.001)
    cov = state_covariance(sys, input_rms=0.5, input_high=4.0)
    u = white(200000, high=4.0, rms=0.5, period=200, seed=2)
    _, x = sys.simulate(u, return_states=True)
    assert np.allclose(np.cov(x[1000:].T), cov, atol=0.05 * np.abs(cov).max())


def test_scaled_realization_bad_input():
    sys = LegendreDelay(1.0, 3)
    for kwargs, attr in [({"input_rms": 0}, "input_rms"),
                         ({"input_high": -1}, "input_high"),
                         ({"radius": np.nan}, "radius"),
                         ({"n_std": 0}, "n_std")]:
        args = dict(input_rms=0.3, input_high=1.0)
        args.update(kwargs)
        with pytest.raises(ValidationError, match=attr):
            scaled_realization(sys, **args)
    with pytest.raises(ValidationError, match="input_high"):
        scaled_realization(sys.discretize(0.01), input_rms=0.3, input_high=60)


# ---------------------------------------------------------------------------
# Hostile input (see robustness.py)


@settings(max_examples=100, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {
            "order": st.integers(1, 8),
            "theta": st.floats(0.01, 10),
            "synapse": st.builds(nengo.Lowpass, st.floats(0.005, 1.0)),
            "dt": st.one_of(st.none(), st.floats(1e-4, 1e-2)),
            "rms": st.floats(0.01, 10),
            "high": st.floats(0.01, 10),
            "radius": st.floats(0.1, 10),
        },
        {"order": orders, "synapse": synapses},
    )
)
def test_hostile_mapping(kw):
    system = attempt("LegendreDelay", LegendreDelay, kw["theta"], kw["order"])
    if system is None:
        system = LegendreDelay(1.0, 4)
    check_system(attempt("ss2sim", ss2sim, system, kw["synapse"], dt=kw["dt"]))
    check_system(attempt("ss2sim", ss2sim, "system", kw["synapse"], dt=kw["dt"]))
    if kw["dt"] is not None:
        system = attempt("discretize", system.discretize, kw["dt"])
    if system is not None:
        result = attempt(
            "scaled_realization", scaled_realization, system, kw["rms"], kw["high"],
            radius=kw["radius"],
        )
        if result is not None:
            check_system(result[0])


def test_hostile_inputs_tried():
    """Runs after the property tests in file order: report the counts."""
    check_tried(['ss2sim', 'scaled_realization'])
