import nengo
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from numpy.polynomial import legendre
from robustness import (
    HYPOTHESIS,
    attempt,
    hostile_kwargs,
    matrices,
    orders,
    scalars,
    small_orders,
    tally,
)
from scipy.integrate import trapezoid

from nengo_lmu.basis import (
    delay_readout,
    legendre_window_basis,
    window_readout,
)
from nengo_lmu.systems import LegendreDelay


def test_delay_readout_matches_numpy_legendre():
    r = np.linspace(0, 1, 101)
    values = delay_readout(30, r)
    for i in range(30):
        ref = legendre.legval(2 * r - 1, np.eye(30)[i])
        assert np.allclose(values[:, i], ref, atol=1e-12)


def test_delay_readout_endpoints():
    assert np.array_equal(delay_readout(5, 1.0), np.ones((1, 5)))
    assert np.array_equal(delay_readout(5, 0.0), [[1, -1, 1, -1, 1]])
    assert delay_readout(5, [0, 0.5, 1]).shape == (3, 5)


def test_window_readout_and_basis():
    C = window_readout(4, 11)
    assert C.shape == (11, 4)
    assert np.allclose(C[0], delay_readout(4, 0)[0])
    assert np.allclose(C[-1], delay_readout(4, 1)[0])
    r, basis = legendre_window_basis(4, 50)
    assert r[0] == 0 and r[-1] == 1 and basis.shape == (50, 4)
    # shifted Legendre polynomials are orthogonal on [0, 1] with norm 1/(2i+1)
    r, basis = legendre_window_basis(6, 20001)
    gram = trapezoid(basis[:, :, None] * basis[:, None, :], r, axis=0)
    assert np.allclose(gram, np.diag(1 / (2 * np.arange(6) + 1)), atol=1e-6)


@pytest.fixture(scope="module")
def delay_run():
    """Ideal discrete LegendreDelay (theta 1 s, order 6, dt 1 ms) on 1 Hz noise."""
    dt, steps = 0.001, 20000
    u = nengo.processes.WhiteSignal(period=20, high=1, rms=0.3, y0=0, seed=0).run_steps(
        steps, dt=dt
    )[:, 0]
    sys = LegendreDelay(theta=1.0, order=6).discretize(dt)
    _, x = sys.simulate(u, return_states=True)
    # LMU convention: m[k] = Abar m[k - 1] + Bbar u[k], i.e. dlsim's x[k + 1]
    m = np.vstack([x[1:], sys.A @ x[-1] + sys.B[:, 0] * u[-1]])
    return u, m


def nrmse(u, m, r, steps_per_theta=1000):
    y = m @ delay_readout(m.shape[1], r)[0]
    k = int(round(r * steps_per_theta))
    ideal = np.concatenate([np.zeros(k), u[: len(u) - k]])
    return np.sqrt(np.mean((y - ideal) ** 2)) / np.sqrt(np.mean(u**2))


def test_ideal_delay_nrmse(delay_run):
    u, m = delay_run
    # the approximation limit of order 6 (measured 0.0044)
    assert nrmse(u, m, 1.0) < 0.01


@pytest.mark.parametrize(
    "r, bound", [(0.0, 0.1), (0.25, 0.03), (0.5, 0.03), (1.0, 0.01)]
)
def test_delay_readouts_decode_past_input(delay_run, r, bound):
    # measured 0.052, 0.014, 0.014, 0.0044: the window's interior and its
    # start (r = 0) are approximated less well than its end at this order
    u, m = delay_run
    assert nrmse(u, m, r) < bound
    # and a wrong delay decodes much worse, so the test has teeth
    assert nrmse(u, m, r) < 0.5 * nrmse(u, np.roll(m, 100, axis=0), r)


def test_bad_readout_input():
    for r in [-0.1, 1.1, np.nan, [0.5, 2.0], np.ones((2, 2)), "half"]:
        with pytest.raises(ValidationError, match="r"):
            delay_readout(4, r)
    with pytest.raises(ValidationError, match="order"):
        delay_readout(0, 0.5)
    with pytest.raises(ValidationError, match="n_points"):
        window_readout(4, 0)


# ---------------------------------------------------------------------------
# Hostile input (see robustness.py)


@settings(max_examples=150, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {"order": small_orders, "r": st.floats(0, 1), "n_points": small_orders},
        {"order": orders, "r": st.one_of(scalars, matrices()), "n_points": orders},
    )
)
def hostile_readouts(kw):
    C = attempt("delay_readout", delay_readout, kw["order"], kw["r"])
    if C is not None:
        assert np.all(np.isfinite(C))
    W = attempt("window_readout", window_readout, kw["order"], kw["n_points"])
    if W is not None:
        assert np.all(np.isfinite(W))


def test_hostile_readouts():
    """Any order, ``r`` and ``n_points``: finite readouts or a ValidationError.

    Each function is tried at least 100 times here, and delay_readout
    both refuses and accepts some of the arguments."""
    with tally("delay_readout", "window_readout", minimum=100) as seen:
        hostile_readouts()
    assert seen["delay_readout", "refused"] and seen["delay_readout", "worked"], seen
