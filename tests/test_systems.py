from math import factorial

import numpy as np
import pytest
import scipy.signal
from nengo.exceptions import ValidationError

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
    return LinearSystem(A, rng.normal(size=(n, m)), rng.normal(size=(p, n)),
                        rng.normal(size=(p, m)))


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
        bound = 2 * factorial(q) * factorial(q - 1) / (
            factorial(2 * q - 1) * factorial(2 * q)
        ) * (w * theta) ** (2 * q) + 1e-13
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
