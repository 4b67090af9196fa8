"""The Mackey-Glass task (nengo_lmu.tasks.mackey_glass): data, network, training."""

import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import tasks
from nengo_lmu.tasks import mackey_glass

# --- Mackey-Glass -------------------------------------------------------------


def mg_rhs(x, xd, beta=0.2, gamma=0.1, n=10):
    return beta * xd / (1 + xd**n) - gamma * x


def test_mackey_glass_range_and_determinism():
    a = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=3)
    b = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=3)
    c = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=4)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c, atol=1e-2)
    # the tau = 17 attractor lies in about [0.2, 1.4]
    assert 0.2 < a.min() < 0.6 and 1.1 < a.max() < 1.4
    # chaotic-looking: the peak heights vary, not a limit cycle
    s = a[0]
    peaks = s[1:-1][(s[1:-1] > s[:-2]) & (s[1:-1] > s[2:])]
    assert len(peaks) > 15 and np.ptp(peaks) > 0.1


def test_mackey_glass_sensitive_to_initial_history():
    """Chaos: a 1e-9 change of the history keeps growing (to ~1e-6 here)."""
    x0 = np.array([1.2, 1.2 + 1e-9])
    far = tasks.mackey_glass_series(1500, n_series=2, x0=x0, discard=0)
    diff = abs(far[0] - far[1])
    assert 0 < np.max(diff[:100]) < 5e-8
    assert np.max(diff[1000:]) > 20 * np.max(diff[:100])


def test_mackey_glass_satisfies_dde():
    dt, tau = 0.1, 17.0
    d = int(round(tau / dt))
    x = tasks.mackey_glass_series(3000, x0=0.9, dt=dt, sample_every=dt, discard=50)[0]
    # fourth-order central difference for dx/dt at the interior points
    dx = (-x[4:] + 8 * x[3:-1] - 8 * x[1:-3] + x[:-4]) / (12 * dt)
    k = np.arange(2, len(x) - 2)
    keep = k >= d
    residual = dx[keep] - mg_rhs(x[k[keep]], x[k[keep] - d])
    assert np.max(abs(dx[keep])) > 0.01  # the check is not vacuous
    # about 1e-8 here; using x(t - tau - dt) instead gives about 2e-3
    assert np.max(abs(residual)) < 1e-5 * dt


def test_mackey_glass_matches_fine_euler():
    """An independent explicit-Euler reference, 100x finer, over 60 time units."""
    h, tau, x0, t_end = 0.001, 17.0, 0.8, 60.0
    d = int(round(tau / h))
    n = int(round(t_end / h))
    ref = np.empty(n + d + 1)
    ref[: d + 1] = x0  # history on [-tau, 0]
    for i in range(d, n + d):
        ref[i + 1] = ref[i] + h * mg_rhs(ref[i], ref[i - d])
    ours = tasks.mackey_glass_series(61, x0=x0, discard=0)[0]
    assert np.max(abs(ours - ref[d::1000])) < 1e-3


def test_mackey_glass_task():
    kw = dict(n_train=3, n_test=2, steps=150, discard=100.0, seed=5)
    (x, y), (xt, yt) = mackey_glass.mackey_glass(**kw)
    assert x.shape == y.shape == (3, 150, 1) and xt.shape == yt.shape == (2, 150, 1)
    assert x.dtype == np.float32
    for a, b in ((x, y), (xt, yt)):
        assert np.array_equal(a[:, 15:], b[:, :-15])  # target: 15 steps ahead
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-5

    # documented raw data: histories from RandomState([seed, 0]) and [seed, 1]
    (xr, yr), (xtr, ytr) = mackey_glass.mackey_glass(normalize=False, horizon=4, **kw)
    x0 = np.random.RandomState([5, 0]).uniform(0.5, 1.3, size=3)
    ref = tasks.mackey_glass_series(154, n_series=3, x0=x0, discard=100.0)
    assert np.allclose(xr[:, :, 0], ref[:, :150])
    assert np.allclose(yr[:, :, 0], ref[:, 4:])
    assert np.allclose((xr - xr.mean()) / xr.std(), x, atol=1e-5)
    # train and test series differ; a smaller n_train is a prefix; test fixed
    assert np.min(abs(xtr[:, None, :, 0] - xr[None, :, :, 0]).max(axis=-1)) > 1e-3
    (x1, _), (xt1, _) = mackey_glass.mackey_glass(
        normalize=False, horizon=4, **dict(kw, n_train=1)
    )
    assert np.array_equal(x1, xr[:1]) and np.array_equal(xt1, xtr)


@pytest.mark.parametrize(
    "func, kwargs, attr",
    [
        ("mackey_glass", {"horizon": 0}, "horizon"),
        ("mackey_glass", {"n_train": 0}, "n_train"),
        ("mackey_glass", {"n_test": 1.5}, "n_test"),
        ("mackey_glass", {"steps": -3}, "steps"),
        ("mackey_glass", {"tau": 0}, "tau"),
        ("mackey_glass", {"tau": 17.05}, "tau"),
        ("mackey_glass", {"seed": -1}, "seed"),
        ("mackey_glass_series", {"n_steps": 0}, "n_steps"),
        ("mackey_glass_series", {"n_steps": 5, "sample_every": 0.25}, "sample_every"),
        ("mackey_glass_series", {"n_steps": 5, "discard": -1}, "discard"),
        ("mackey_glass_series", {"n_steps": 5, "dt": float("nan")}, "dt"),
        ("mackey_glass_series", {"n_steps": 5, "x0": [1, 2, 3]}, "x0"),
        ("mackey_glass_series", {"n_steps": 5, "x0": -1.0}, "x0"),
    ],
)
def test_mackey_glass_bad_input(func, kwargs, attr):
    with pytest.raises(ValidationError, match=attr):
        getattr(mackey_glass, func)(**kwargs)


# --- the Mackey-Glass experiment -------------------------------------------------


@pytest.fixture(scope="module")
def small_task():
    return mackey_glass.mackey_glass(n_train=8, n_test=4, steps=60)


def test_untrained_network_predicts_no_change(small_task):
    _, (x, y) = small_task
    net = mackey_glass.mackey_glass_network(order=4, theta=0.02, hidden_units=6)
    nrmse, persistence = mackey_glass.evaluate_mackey_glass(net, (x, y))
    # the baseline, computed here: predict x[t] for x[t + horizon]
    expected = np.sqrt(np.mean((x - y) ** 2)) / np.std(y)
    assert persistence == pytest.approx(expected, rel=1e-6)
    assert nrmse == pytest.approx(expected, rel=1e-4)  # zero readout: no change


def test_training_lowers_the_training_loss(small_task):
    train, _ = small_task
    net = mackey_glass.mackey_glass_network(order=4, theta=0.02, hidden_units=6)
    history = mackey_glass.train_mackey_glass(net, train, epochs=4, learning_rate=1e-2)
    assert len(history["loss"]) == 4
    assert history["loss"][-1] < history["loss"][0]
    nrmse, persistence = mackey_glass.evaluate_mackey_glass(net, train)
    assert nrmse < persistence  # the trained readout is written back
