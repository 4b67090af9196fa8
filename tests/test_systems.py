import math
import time
from fractions import Fraction
from math import factorial

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from robustness import (
    DT,
    HYPOTHESIS,
    attempt,
    bad_methods,
    check_system,
    hostile_kwargs,
    matrices,
    methods,
    orders,
    positive,
    report,
    scalars,
    small_orders,
    tally,
)

from nengo_lmu.systems import (
    LegendreDelay,
    LinearSystem,
    PadeDelay,
    legendre_matrices,
    pade_coefficients,
)


def random_system(rng, n=4, m=2, p=3, stable=True):
    A = rng.normal(size=(n, n))
    if stable:
        A -= (np.max(np.linalg.eigvals(A).real) + 0.5) * np.eye(n)
    return LinearSystem(
        A, rng.normal(size=(n, m)), rng.normal(size=(p, n)), rng.normal(size=(p, m))
    )


@pytest.mark.parametrize("method", ["zoh", "euler", "bilinear"])
def test_discretize_matches_scipy(method, rng):
    sys = random_system(rng)
    dt = 0.01
    ours = sys.discretize(dt, method=method)
    scipy_method = {"euler": "euler", "zoh": "zoh", "bilinear": "bilinear"}[method]
    Ad, Bd, Cd, Dd, dtd = scipy.signal.cont2discrete(sys.ss, dt, method=scipy_method)
    assert ours.dt == dtd
    for ours_mat, ref in zip(ours.ss, (Ad, Bd, Cd, Dd)):
        assert np.allclose(ours_mat, ref, rtol=1e-10, atol=1e-12)


def test_legendre_discretize_matches_scipy():
    sys = LegendreDelay(theta=0.5, order=12)
    ref = scipy.signal.cont2discrete(sys.ss, 0.001, method="zoh")
    assert np.allclose(sys.discretize(0.001).A, ref[0], atol=1e-12)
    assert np.allclose(sys.discretize(0.001).B, ref[1], atol=1e-12)


def test_legendre_matrices_closed_form():
    # written out by hand from the definition for order 3
    A, B = legendre_matrices(3)
    assert np.array_equal(A, [[-1, -1, -1], [3, -3, -3], [-5, 5, -5]])
    assert np.array_equal(B[:, 0], [1, -3, 5])


def test_properties_and_repr(rng):
    sys = random_system(rng, n=4, m=2, p=3)
    assert (sys.state_size, sys.input_size, sys.output_size) == (4, 2, 3)
    assert sys.analog and sys.dt is None
    d = sys.discretize(0.1)
    assert not d.analog and d.dt == 0.1
    assert "discrete" in repr(d)
    with pytest.raises(ValueError):
        sys.A[0, 0] = 1.0  # matrices are read-only


def test_vector_inputs_are_column_and_row():
    sys = LinearSystem([[-1.0, 0], [0, -2]], [1.0, 1.0], [1.0, 2.0])
    assert sys.B.shape == (2, 1) and sys.C.shape == (1, 2) and sys.D.shape == (1, 1)


def test_simulate_matches_dlsim(rng):
    sys = random_system(rng).discretize(0.05)
    u = rng.normal(size=(200, 2))
    x0 = rng.normal(size=4)
    t, y_ref, x_ref = scipy.signal.dlsim(sys.ss + (sys.dt,), u, x0=x0)
    y, x = sys.simulate(u, x0=x0, return_states=True)
    assert np.allclose(y, y_ref, atol=1e-10)
    assert np.allclose(x, x_ref, atol=1e-10)


def test_simulate_analog_matches_lsim(rng):
    sys = random_system(rng)
    dt = 0.01
    u = rng.normal(size=(300, 2))
    t = np.arange(300) * dt
    _, y_ref, x_ref = scipy.signal.lsim(sys.ss, u, t, interp=False)
    y, x = sys.simulate(u, dt=dt, return_states=True)
    assert np.allclose(y, y_ref, atol=1e-8)
    assert np.allclose(x, x_ref, atol=1e-8)


def test_frequency_response_matches_scipy(rng):
    sys = random_system(rng, m=1, p=1)
    w = np.linspace(0.1, 10, 30)
    num, den = scipy.signal.ss2tf(*sys.ss)
    _, h_ref = scipy.signal.freqs(num[0], den, worN=w)
    assert np.allclose(sys.frequency_response(w)[:, 0, 0], h_ref, rtol=1e-9)

    d = sys.discretize(0.01)
    num, den = scipy.signal.ss2tf(*d.ss)
    _, h_ref = scipy.signal.freqz(num[0], den, worN=w * 0.01)
    assert np.allclose(d.frequency_response(w)[:, 0, 0], h_ref, rtol=1e-8)


def test_transform_keeps_transfer_function(rng):
    sys = random_system(rng)
    T = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    new = sys.transform(T)
    w = np.logspace(-1, 2, 20)
    assert np.allclose(new.frequency_response(w), sys.frequency_response(w))
    assert not new.allclose(sys)
    assert new.transform(np.linalg.inv(T)).allclose(sys)
    # x = T z: states of the new system map back to the old ones
    u = rng.normal(size=(50, 2))
    _, x = sys.simulate(u, dt=0.01, return_states=True)
    _, z = new.simulate(u, dt=0.01, return_states=True)
    assert np.allclose(z @ T.T, x)


def test_allclose(rng):
    sys = random_system(rng)
    assert sys.allclose(LinearSystem(*sys.ss))
    assert not sys.allclose(LinearSystem(*sys.ss, dt=0.1))
    assert not sys.discretize(0.1).allclose(sys.discretize(0.2))
    assert not sys.allclose("not a system")
    shifted = LinearSystem(sys.A + 1e-3, sys.B, sys.C, sys.D)
    assert not sys.allclose(shifted)
    assert sys.allclose(shifted, atol=1e-2)


@pytest.mark.parametrize("order", [1, 2, 5, 8])
def test_pade_and_legendre_agree(order):
    w = np.linspace(0.01, 30, 100)
    h_leg = LegendreDelay(0.7, order).frequency_response(w)
    h_pade = PadeDelay(0.7, order).frequency_response(w)
    assert np.allclose(h_leg, h_pade, rtol=1e-8, atol=1e-10)


def test_pade_coefficients_closed_form():
    # [1/2] Pade of exp(-s): (1 - s/3) / (1 + 2s/3 + s^2/6)
    num, den = pade_coefficients(1.0, 2)
    assert np.allclose(num, [-1 / 3, 1])
    assert np.allclose(den, [1 / 6, 2 / 3, 1])


def test_legendre_delay_frequency_response():
    theta = 1.0
    w = np.linspace(0.01, 2.0, 50)  # well inside the approximation's band
    exact = np.exp(-1j * w * theta)
    errors = []
    for q in [2, 4, 6, 8, 10]:
        h = LegendreDelay(theta, q).frequency_response(w)[:, 0, 0]
        err = np.abs(h - exact)
        # leading term of the [q-1/q] Pade remainder of exp(-x) at x = w theta,
        # q! (q-1)! / ((2q-1)! (2q)!) |x|^(2q); a factor 2 for the higher
        # terms and 1e-13 for rounding
        bound = (
            2
            * factorial(q)
            * factorial(q - 1)
            / (factorial(2 * q - 1) * factorial(2 * q))
            * (w * theta) ** (2 * q)
            + 1e-13
        )
        assert np.all(err <= bound)
        errors.append(err.max())
    assert np.all(np.diff(errors) < 0), errors  # error shrinks with the order


@pytest.mark.parametrize("order", [64, 256, 512])
def test_large_orders_are_stable(order):
    sys = LegendreDelay(theta=1.0, order=order).discretize(0.001)
    assert np.all(np.isfinite(sys.A)) and np.all(np.isfinite(sys.B))
    assert np.max(np.abs(np.linalg.eigvals(sys.A))) < 1


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"theta": 0, "order": 3}, "theta"),
        ({"theta": -1.0, "order": 3}, "theta"),
        ({"theta": np.nan, "order": 3}, "theta"),
        ({"theta": np.inf, "order": 3}, "theta"),
        ({"theta": "1", "order": 3}, "theta"),
        ({"theta": 1.0, "order": 0}, "order"),
        ({"theta": 1.0, "order": 2.5}, "order"),
        ({"theta": 1.0, "order": True}, "order"),
    ],
)
@pytest.mark.parametrize("cls", [LegendreDelay, PadeDelay])
def test_bad_delay_parameters(cls, kwargs, attr):
    with pytest.raises(ValidationError, match=attr):
        cls(**kwargs)


def test_bad_system_shapes():
    with pytest.raises(ValidationError, match="A"):
        LinearSystem(np.ones((2, 3)), np.ones((2, 1)), np.ones((1, 2)))
    with pytest.raises(ValidationError, match="B"):
        LinearSystem(np.eye(2), np.ones((3, 1)), np.ones((1, 2)))
    with pytest.raises(ValidationError, match="C"):
        LinearSystem(np.eye(2), np.ones((2, 1)), np.ones((1, 3)))
    with pytest.raises(ValidationError, match="D"):
        LinearSystem(np.eye(2), np.ones((2, 1)), np.ones((1, 2)), np.ones((2, 2)))
    with pytest.raises(ValidationError, match="A"):
        LinearSystem([[np.nan]], [[1]], [[1]])
    with pytest.raises(ValidationError, match="A"):
        LinearSystem("abc", [[1]], [[1]])


def test_bad_discretize_and_simulate(rng):
    sys = random_system(rng)
    with pytest.raises(ValidationError, match="method"):
        sys.discretize(0.1, method="magic")
    for dt in [0, -0.1, np.nan, np.inf, None]:
        with pytest.raises(ValidationError, match="dt"):
            sys.discretize(dt)
    with pytest.raises(ValidationError, match="dt"):
        sys.discretize(0.1).discretize(0.1)
    with pytest.raises(ValidationError, match="dt"):
        sys.simulate(np.zeros((10, 2)))  # analog needs dt
    with pytest.raises(ValidationError, match="u"):
        sys.simulate(np.zeros((10, 3)), dt=0.1)
    with pytest.raises(ValidationError, match="x0"):
        sys.simulate(np.zeros((10, 2)), dt=0.1, x0=np.zeros(3))
    with pytest.raises(ValidationError, match="T"):
        sys.transform(np.zeros((4, 4)))
    with pytest.raises(ValidationError, match="T"):
        sys.transform(np.eye(3))


# ---------------------------------------------------------------------------
# An exact reference for the zero-order hold: the Taylor series of
# exp([[A, B], [0, 0]] dt / theta) in exact rational arithmetic. It shares
# nothing with scipy.linalg.expm (no scaling and squaring, no Pade, no
# floating point until the final, correctly rounded conversion).


def _apply_legendre_a(X):
    """Exact ``A @ X`` for the integer Legendre ``A`` and an object array ``X``
    of Python ints, in O(order * columns) with prefix sums:
    ``(A X)_i = (2i + 1) (-sum_{j>i} X_j + (-1)^(i+1) sum_{j<=i} (-1)^j X_j)``."""
    q = X.shape[0]
    sign = np.array([(-1) ** j for j in range(q)], dtype=object)[:, None]
    rows = np.array([2 * i + 1 for i in range(q)], dtype=object)[:, None]
    prefix = np.cumsum(X, axis=0)
    above = X.sum(axis=0)[None, :] - prefix
    alternating = np.cumsum(sign * X, axis=0)
    return rows * (-above - sign * alternating)


def zoh_reference(order, steps, columns, tol=1e-25):
    """Columns ``columns`` of ``Abar`` and all of ``Bbar`` for
    ``LegendreDelay(theta=steps * dt, order).discretize(dt)``, exactly up to a
    truncation error below ``tol`` (then rounded once to float64).

    ``dt / theta = 1 / steps``, so ``M = A / steps`` with integer ``A``:
    ``Abar = sum_k A^k / (k! steps^k)``, ``Bbar = sum_k A^k B / ((k+1)! steps^(k+1))``.
    The tail after ``K`` terms is below ``|M|^(K+1) / (K+1)! * exp(|M|)`` in
    the 1-norm, ``|M|_1 = order^2 / steps``.
    """
    norm = order * order / steps
    K = 1
    while (K + 1) * math.log(norm) - math.lgamma(K + 2) + norm > math.log(tol):
        K += 1
    X = np.zeros((order, len(columns) + 1), dtype=object)
    X[:, :] = 0
    for c, j in enumerate(columns):
        X[j, c] = 1
    _, B = legendre_matrices(order)
    X[:, -1] = [int(b) for b in B[:, 0]]
    denominator = math.factorial(K + 1) * steps ** (K + 1)
    acc = np.zeros_like(X)
    acc[:, :] = 0
    P = X
    for k in range(K + 1):
        acc[:, :-1] += P[:, :-1] * (denominator // (math.factorial(k) * steps**k))
        acc[:, -1] += P[:, -1] * (
            denominator // (math.factorial(k + 1) * steps ** (k + 1))
        )
        P = _apply_legendre_a(P)
    out = np.array([[float(Fraction(v, denominator)) for v in row] for row in acc])
    return out[:, :-1], out[:, -1]


def test_reference_operator_is_legendre_a(rng):
    A, _ = legendre_matrices(9)
    X = rng.randint(-50, 50, size=(9, 4))
    assert np.array_equal(_apply_legendre_a(X.astype(object)).astype(float), A @ X)


def zoh_errors(steps, orders, n_columns=8):
    rows = []
    for q in orders:
        columns = sorted(set(np.linspace(0, q - 1, n_columns).astype(int)))
        t0 = time.time()
        Aref, Bref = zoh_reference(q, steps, columns)
        t_ref = time.time() - t0
        sys_d = LegendreDelay(steps * DT, q).discretize(DT)
        err_a = np.abs(sys_d.A[:, columns] - Aref).max()
        err_b = np.abs(sys_d.B[:, 0] - Bref).max()
        rows.append((q, err_a, err_b))
        report(
            f"zoh theta={steps} steps order={q}: max|dAbar|={err_a:.2e} "
            f"max|dBbar|={err_b:.2e} (|Abar|max={np.abs(Aref).max():.3g}, "
            f"|Bbar|max={np.abs(Bref).max():.3g}; reference {t_ref:.1f} s)"
        )
    return rows


# Errors measured (absolute; |Abar| <= 1): theta=10^4: 2e-19 (4), 2e-18 (16),
# 1e-17 (64), 1.3e-16 (256), 3.8e-15 (1024); theta=10^5: 1e-20 (4) ...
# 9.5e-17 (1024). The error grows about as order^2 (roughly the norm of
# A dt / theta), a few ulp at most: the discretisation loses no accuracy.
ZOH_TOL = 2e-14


@pytest.mark.parametrize(
    "steps, orders",
    [(10_000, (4, 16, 64, 256)), (100_000, (4, 16, 64, 256, 1024))],
)
def test_long_window_zoh_is_exact(steps, orders):
    rows = zoh_errors(steps, orders)
    for q, err_a, err_b in rows:
        assert err_a < ZOH_TOL and err_b < ZOH_TOL, (q, err_a, err_b)
    # no sudden loss: the error never jumps by more than ~order^2 growth
    errs = [max(a, b) for _, a, b in rows]
    assert errs[-1] < ZOH_TOL


@pytest.mark.slow
def test_long_window_zoh_is_exact_order_1024_theta_10k():
    # |M|_1 = 105 here: the exact series needs ~400 terms (about a minute)
    ((q, err_a, err_b),) = zoh_errors(10_000, (1024,), n_columns=6)
    assert err_a < ZOH_TOL and err_b < ZOH_TOL


# ---------------------------------------------------------------------------
# Stable recurrence


def power_norms(Abar, n_squarings):
    """``||Abar^(2^k)||_2`` for k = 0..n_squarings."""
    P = np.array(Abar)
    norms = [np.linalg.norm(P, 2)]
    for _ in range(n_squarings):
        P = P @ P
        norms.append(np.linalg.norm(P, 2))
    return np.array(norms)


def check_powers(steps, q):
    Abar = LegendreDelay(steps * DT, q).discretize(DT).A
    rho = np.abs(np.linalg.eigvals(Abar)).max()
    norms = power_norms(Abar, 20)  # up to 2^20 ~ 10^6 steps
    report(
        f"stability theta={steps} order={q}: spectral radius {rho:.6f}, "
        f"max_n ||Abar^n|| = {norms.max():.2f} (n = 2^{norms.argmax()}), "
        f"||Abar^(2^20)|| = {norms[-1]:.1e}"
    )
    assert rho < 1
    # transient growth of the non-normal recurrence stays small (measured
    # <= 4.6 for order 1024) and it dies out after a window or two
    assert np.all(np.isfinite(norms)) and norms.max() < 10
    assert norms[-1] < 1e-2


def step_recurrence(Abar, Bbar, u_chunks, x0=None):
    """Step ``x[k+1] = Abar x[k] + Bbar u[k]`` through the chunks of input
    (each (steps, n_inputs)); ``x`` holds one column per input column. Returns
    the RMS state norm and the max state norm of every chunk."""
    q = Abar.shape[0]
    b = Bbar[:, 0]
    x = None if x0 is None else np.array(x0, dtype=float)
    rms, peak = [], []
    for u in u_chunks:
        if x is None:
            x = np.zeros((q, u.shape[1]))
        sq = np.zeros(u.shape[1])
        mx = np.zeros(u.shape[1])
        for uk in u:
            x = Abar @ x + b[:, None] * uk[None, :]
            nk = np.einsum("ij,ij->j", x, x)
            sq += nk
            np.maximum(mx, nk, out=mx)
        rms.append(np.sqrt(sq / len(u)))
        peak.append(np.sqrt(mx))
    return np.array(rms), np.array(peak)


def check_simulated_recurrence(steps_theta, q, n_steps, chunk):
    """Zero input from a unit initial state (column 0) and white input from
    rest (column 1), ``n_steps`` steps."""
    sys_d = LegendreDelay(steps_theta * DT, q).discretize(DT)
    rng = np.random.RandomState(0)
    x0 = np.zeros((q, 2))
    x0[:, 0] = rng.normal(size=q) / np.sqrt(q)

    def chunks():
        for start in range(0, n_steps, chunk):
            u = np.zeros((min(chunk, n_steps - start), 2))
            u[:, 1] = rng.normal(size=len(u))
            yield u

    # stationary E|x|^2 for unit white input: trace of the discrete gramian
    stationary = np.sqrt(
        np.trace(scipy.linalg.solve_discrete_lyapunov(sys_d.A, sys_d.B @ sys_d.B.T))
    )
    t0 = time.time()
    rms, peak = step_recurrence(sys_d.A, sys_d.B, chunks(), x0=x0)
    elapsed = time.time() - t0
    report(
        f"recurrence theta={steps_theta} order={q}, {n_steps} steps "
        f"({elapsed:.1f} s): zero input max|x|={peak[:, 0].max():.3f} "
        f"(|x0|=1) last |x|={peak[-1, 0]:.2e}; white input rms|x| first chunk "
        f"{rms[0, 1]:.4f}, last chunk {rms[-1, 1]:.4f}, max {peak[:, 1].max():.4f} "
        f"(stationary rms {stationary:.4f})"
    )
    assert np.all(np.isfinite(rms)) and np.all(np.isfinite(peak))
    assert peak[:, 0].max() < 10  # zero input: no growth from |x0| = 1
    # white input: the state's spread grows to the stationary one (over a
    # window) and never beyond it
    assert rms[:, 1].max() < 1.1 * stationary
    assert peak[:, 1].max() < 5 * stationary
    if n_steps >= 2 * steps_theta:
        settled = rms[len(rms) // 2 :, 1]
        assert np.all(np.abs(settled / stationary - 1) < 0.1), settled
    return rms, peak


@pytest.mark.parametrize("steps", [10_000, 100_000])
def test_long_window_recurrence_is_stable(steps):
    for q in (16, 256):
        check_powers(steps, q)
    check_simulated_recurrence(steps, 256, n_steps=20_000, chunk=2_000)


@pytest.mark.slow
@pytest.mark.parametrize("steps", [10_000, 100_000])
def test_long_window_recurrence_is_stable_order_1024(steps):
    check_powers(steps, 1024)


@pytest.mark.slow
@pytest.mark.parametrize("steps", [10_000, 100_000])
def test_long_window_recurrence_million_steps(steps):
    rms, peak = check_simulated_recurrence(steps, 256, n_steps=1_000_000, chunk=50_000)
    # zero input: after 10 to 100 windows the initial state has died out
    assert peak[-1, 0] < 1e-6


# ---------------------------------------------------------------------------
# Hostile input (see robustness.py)


@settings(max_examples=150, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {"theta": positive, "order": small_orders, "dt": positive, "method": methods},
        {"order": orders, "method": bad_methods},
    )
)
def hostile_legendre_and_pade(kw):
    for cls in (LegendreDelay, PadeDelay):
        system = attempt(cls.__name__, cls, kw["theta"], kw["order"])
        check_system(system)
        if system is not None:
            check_system(
                attempt("discretize", system.discretize, kw["dt"], method=kw["method"])
            )


def test_hostile_legendre_and_pade():
    """Hostile orders and methods: finite systems or a ValidationError.

    Each function is tried at least 100 times here, and LegendreDelay both
    refuses and accepts some of the arguments."""
    with tally("LegendreDelay", "PadeDelay", "discretize", minimum=100) as seen:
        hostile_legendre_and_pade()
    assert seen["LegendreDelay", "refused"] and seen["LegendreDelay", "worked"], seen


@st.composite
def consistent_system(draw):
    n, m, p = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    el = st.floats(-1e3, 1e3)

    def mat(rows, cols):
        return np.array(
            draw(st.lists(el, min_size=rows * cols, max_size=rows * cols))
        ).reshape(rows, cols)

    return {"A": mat(n, n), "B": mat(n, m), "C": mat(p, n), "D": mat(p, m)}


@settings(max_examples=150, **HYPOTHESIS)
@given(
    consistent_system(),
    hostile_kwargs(
        {
            "which": st.sampled_from([None]),
            "dt": st.one_of(st.none(), positive),
            "sdt": positive,
        },
        {"which": st.sampled_from(["A", "B", "C", "D"]), "dt": scalars, "sdt": scalars},
    ),
    matrices(),
    st.booleans(),
)
def hostile_linear_system(mats, kw, other, good_u):
    mats = dict(mats)
    if kw["which"] is not None:
        mats[kw["which"]] = other
    system = attempt("LinearSystem", LinearSystem, dt=kw["dt"], **mats)
    if system is None:
        return
    sdt = kw["sdt"] if system.analog else None
    if system.analog:
        check_system(attempt("discretize", system.discretize, kw["sdt"]))
    u = np.ones((5, system.input_size)) if good_u else other
    attempt("simulate", system.simulate, u, dt=sdt)
    attempt("frequency_response", system.frequency_response, other)


def test_hostile_linear_system():
    """Hostile matrices, ``dt`` and inputs: finite systems or a ValidationError.

    Each function is tried at least 60 times here, and LinearSystem both
    refuses and accepts some of the arguments."""
    names = ("LinearSystem", "discretize", "simulate", "frequency_response")
    with tally(*names, minimum=60) as seen:
        hostile_linear_system()
    assert seen["LinearSystem", "refused"] and seen["LinearSystem", "worked"], seen
