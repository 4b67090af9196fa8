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
    hostile_kwargs,
    orders,
    synapses,
    tally,
)

from nengo_lmu.mapping import (
    balanced_realization,
    balanced_truncation,
    double_exp,
    scaled_realization,
    ss2sim,
    state_covariance,
    synapse_polynomial,
)
from nengo_lmu.systems import LegendreDelay, LinearSystem


def white(steps, dt=0.001, high=1.0, rms=0.3, seed=0, period=None):
    period = steps * dt if period is None else period
    proc = nengo.processes.WhiteSignal(
        period=period, high=high, rms=rms, y0=0, seed=seed
    )
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
    _, x, _ = scipy.signal.lsim(
        (A_cl, B_cl, C_syn, np.zeros((n, B_cl.shape[1]))), u_columns, t
    )
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


def zoh_synapse(synapse, dt):
    """The synapse discretised by scipy (not by Nengo): num, den in z."""
    num, den, _ = scipy.signal.cont2discrete((synapse.num, synapse.den), dt)
    return np.ravel(num), den


@pytest.mark.parametrize(
    "synapse",
    [
        nengo.Alpha(0.1),
        double_exp(0.1, 0.02),
        nengo.LinearFilter([0.01, 1], [0.002, 0.3, 1]),
    ],
)
@pytest.mark.parametrize("zero_order", [0, 1, 2])
def test_zero_order_inverts_zeros_to_that_order(synapse, zero_order):
    """h(z) c(z) = 1 + O((z - 1)^(K + 1)): halving the frequency divides the
    error by 2^(K + 1) (near z = 1), with h the zoh synapse from scipy."""
    dt = 0.001
    c = synapse_polynomial(synapse, dt, zero_order=zero_order)
    assert len(c) == len(synapse.den) + zero_order  # degree q + K
    num, den = zoh_synapse(synapse, dt)
    errors = []
    for omega in [4.0, 2.0, 1.0]:
        z = np.exp(1j * omega * dt)
        h = np.polyval(num, z) / np.polyval(den, z)
        errors.append(abs(h * np.polyval(c[::-1], z) - 1))
    assert errors[-1] < 0.05 ** (zero_order + 1)
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.allclose(ratios, 2 ** (zero_order + 1), rtol=0.02), ratios
    # exact at DC
    assert np.polyval(num, 1) / np.polyval(den, 1) * np.sum(c) == pytest.approx(1)


def test_zero_order_leaves_all_pole_synapses_exact():
    dt = 0.001
    for synapse in [nengo.Lowpass(0.05), nengo.Alpha(0.05)]:
        analog = ss2sim(LegendreDelay(1.0, 4), synapse)  # Alpha: all-pole in s
        assert analog.allclose(ss2sim(LegendreDelay(1.0, 4), synapse, zero_order=2))
    discrete = ss2sim(LegendreDelay(1.0, 4), nengo.Lowpass(0.05), dt=dt)
    assert discrete.allclose(
        ss2sim(LegendreDelay(1.0, 4), nengo.Lowpass(0.05), dt=dt, zero_order=3)
    )


@pytest.mark.parametrize(
    "synapse, zero_order, bound",
    [
        # measured max |error| / max |state|: 2.2e-5, 3.4e-5, 6.3e-8, 8.1e-3
        (nengo.Alpha(0.1), 1, 1e-4),
        (double_exp(0.1, 0.02), 1, 1e-4),
        (nengo.Alpha(0.1), 2, 1e-6),
        (nengo.Alpha(0.1), 0, 2e-2),
    ],
)
def test_zero_order_mapping_with_nengo_synapse(synapse, zero_order, bound):
    """Nengo's own (zoh) Alpha / double exponential in the recurrence, driven
    by v = Ahat x + sum_j B_j u[k + j - (q - 1)]: the state follows the exact
    discrete system, q - 1 steps late."""
    dt, order = 0.001, 6
    sys = LegendreDelay(1.0, order)
    mapped = ss2sim(sys, synapse, dt=dt, zero_order=zero_order)
    q = mapped.input_size
    assert q == 2 + zero_order
    step = synapse.make_step(
        (order,),
        (order,),
        dt,
        rng=None,
        state=synapse.make_state((order,), (order,), dt),
    )
    u = white(5000)[:, 0]
    padded = np.concatenate([np.zeros(q - 1), u])
    x, xs = np.zeros(order), []
    for k in range(len(u)):
        xs.append(x)
        x = np.array(step(0, mapped.A @ x + mapped.B @ padded[k : k + q]))
    _, ref = sys.discretize(dt).simulate(u, return_states=True)
    err = np.abs(np.array(xs)[q - 1 :] - ref[: len(u) - (q - 1)]).max()
    assert err < bound * np.abs(ref).max(), err


def test_double_exp():
    assert np.allclose(double_exp(0.05, 0.05).den, nengo.Alpha(0.05).den)
    # the difference of exponentials, unit area
    t = np.arange(0, 2, 1e-4)
    impulse = np.zeros_like(t)
    impulse[0] = 1 / 1e-4
    y = double_exp(0.1, 0.02).filt(impulse, dt=1e-4, y0=0)
    ref = (np.exp(-t / 0.1) - np.exp(-t / 0.02)) / (0.1 - 0.02)
    assert np.allclose(y[1:], ref[:-1], atol=0.05 * ref.max())
    with pytest.raises(ValidationError, match="tau2"):
        double_exp(0.1, 0)


def test_ss2sim_bad_input():
    sys = LegendreDelay(1.0, 3)
    for bad in [None, 0.1, "lowpass", nengo.synapses.Triangle(0.1)]:
        with pytest.raises(ValidationError, match="synapse"):
            ss2sim(sys, bad, dt=0.001)
    with pytest.raises(ValidationError, match="synapse"):
        ss2sim(sys, nengo.Alpha(0.1), dt=0.001)  # zoh Alpha has a zero
    for bad in [-1, 1.5, True]:
        with pytest.raises(ValidationError, match="zero_order"):
            ss2sim(sys, nengo.Alpha(0.1), dt=0.001, zero_order=bad)
    with pytest.raises(ValidationError, match="DC"):  # a zero at z = 1
        ss2sim(
            sys,
            nengo.LinearFilter([1, -1], [1, 0], analog=False),
            dt=0.001,
            zero_order=1,
        )
    with pytest.raises(ValidationError, match="dt"):
        ss2sim(sys, nengo.Lowpass(0.1), dt=-1)
    with pytest.raises(ValidationError, match="dt"):
        ss2sim(sys.discretize(0.001), nengo.Lowpass(0.1), dt=0.002)
    with pytest.raises(ValidationError, match="system"):
        ss2sim("not a system", nengo.Lowpass(0.1))


def assert_same_transfer(a, b):
    w = np.logspace(-2, 2, 40)
    assert np.allclose(
        a.frequency_response(w), b.frequency_response(w), rtol=1e-8, atol=1e-10
    )


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
    scaled, T = scaled_realization(
        sys, input_rms=0.3, input_high=1.0, radius=1.0, n_std=3.0
    )
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
    for kwargs, attr in [
        ({"input_rms": 0}, "input_rms"),
        ({"input_high": -1}, "input_high"),
        ({"radius": np.nan}, "radius"),
        ({"n_std": 0}, "n_std"),
    ]:
        args = dict(input_rms=0.3, input_high=1.0)
        args.update(kwargs)
        with pytest.raises(ValidationError, match=attr):
            scaled_realization(sys, **args)
    with pytest.raises(ValidationError, match="input_high"):
        scaled_realization(sys.discretize(0.01), input_rms=0.3, input_high=60)


def hinf_error(a, b, omega):
    """max over omega of the largest singular value of G_a - G_b."""
    diff = a.frequency_response(omega) - b.frequency_response(omega)
    return max(np.linalg.svd(d, compute_uv=False)[0] for d in diff)


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("keep", [2, 4, 6])
def test_balanced_truncation_error_bound(discrete, keep):
    """sigma_{r+1} <= ||G - G_r||_inf <= 2 sum_{i > r} sigma_i, the H-infinity
    norm from a dense frequency sweep, the Hankel singular values from
    scipy's gramians (sqrt of the eigenvalues of Wc Wo)."""
    sys = LegendreDelay(1.0, 10)
    if discrete:
        sys = sys.discretize(0.01)
    reduced, hankel = balanced_truncation(sys, keep)
    assert reduced.state_size == keep and reduced.dt == sys.dt
    assert np.array_equal(reduced.D, sys.D)
    A, B, C, _ = sys.ss
    if discrete:
        Wc = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
        Wo = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C)
    else:
        Wc = scipy.linalg.solve_continuous_lyapunov(A, -B @ B.T)
        Wo = scipy.linalg.solve_continuous_lyapunov(A.T, -C.T @ C)
    ref = np.sort(np.sqrt(np.abs(np.linalg.eigvals(Wc @ Wo))))[::-1]
    assert np.allclose(hankel, ref, rtol=1e-6, atol=1e-12)
    poles = np.linalg.eigvals(reduced.A)
    assert np.all(np.abs(poles) < 1) if discrete else np.all(poles.real < 0)
    top = np.pi / 0.01 if discrete else 1e4
    omega = np.concatenate([[0.0], np.logspace(-2, np.log10(top), 3000)])
    err = hinf_error(sys, reduced, omega)
    assert hankel[keep] * (1 - 1e-3) <= err <= 2 * hankel[keep:].sum() * (1 + 1e-6)


def test_balanced_truncation_removes_hidden_states_exactly(rng):
    """States that the input cannot reach (sigma = 0) go without error."""
    sys = LegendreDelay(0.5, 4)
    A = scipy.linalg.block_diag(sys.A, [[-3.0]])
    B = np.vstack([sys.B, [[0.0]]])
    C = np.hstack([sys.C, [[2.0]]])
    padded = LinearSystem(A, B, C, [[0.5]])
    reduced, hankel = balanced_truncation(padded, 4)
    assert hankel[4] < 1e-10 * hankel[0]
    omega = np.logspace(-2, 3, 200)
    assert np.allclose(
        reduced.frequency_response(omega), padded.frequency_response(omega), atol=1e-8
    )
    with pytest.raises(ValidationError, match="order"):
        balanced_truncation(padded, 5)  # only 4 states take part
    with pytest.raises(ValidationError, match="order"):
        balanced_truncation(padded, 0)
    with pytest.raises(ValidationError, match="stable"):
        balanced_truncation(LinearSystem([[1.0]], [[1.0]], [[1.0]]), 1)
    with pytest.raises(ValidationError, match="system"):
        balanced_truncation("sys", 1)


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
def hostile_mapping(kw):
    system = attempt("LegendreDelay", LegendreDelay, kw["theta"], kw["order"])
    if system is None:
        system = LegendreDelay(1.0, 4)
    check_system(attempt("ss2sim", ss2sim, system, kw["synapse"], dt=kw["dt"]))
    check_system(attempt("ss2sim", ss2sim, "system", kw["synapse"], dt=kw["dt"]))
    if kw["dt"] is not None:
        system = attempt("discretize", system.discretize, kw["dt"])
    if system is not None:
        result = attempt(
            "scaled_realization",
            scaled_realization,
            system,
            kw["rms"],
            kw["high"],
            radius=kw["radius"],
        )
        if result is not None:
            check_system(result[0])


def test_hostile_mapping():
    """Hostile systems, synapses and scales: finite systems or a ValidationError.

    Each function is tried at least 30 times here (``discretize`` only on the
    systems LegendreDelay accepts: measured 39 of 100), and LegendreDelay
    both refuses and accepts some of the arguments."""
    with tally(
        "LegendreDelay", "ss2sim", "discretize", "scaled_realization", minimum=30
    ) as seen:
        hostile_mapping()
    assert seen["LegendreDelay", "refused"] and seen["LegendreDelay", "worked"], seen
