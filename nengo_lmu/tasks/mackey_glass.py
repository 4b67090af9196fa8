"""The Mackey-Glass task: data, network, training and evaluation.

Predict the chaotic Mackey-Glass series (tau = 17) ``horizon`` steps ahead.

This is NengoLMU's own experiment, not the LMU paper's: its series come from
a fourth-order Runge-Kutta integrator, and its LMU predicts the change from
the current value. The paper's protocol (the notebook's Euler generator, its
data set and its three four-layer models) is
`nengo_lmu.tasks.paper_mackey_glass`; see ``docs/guide/paper.rst``.

Data
    `mackey_glass` (training and test series, as NengoDL arrays) and
    `mackey_glass_series` (the integrator).
The Mackey-Glass experiment
    `mackey_glass_network` (an LMU predicting the change from the current
    value), `train_mackey_glass` (NengoDL) and `evaluate_mackey_glass` (NRMSE
    of the prediction, next to the no-change baseline).

NengoDL and TensorFlow are imported inside the functions that use them.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_bool,
    check_count,
    check_dtype,
    check_multiple,
    check_nonnegative,
    check_positive_finite,
    check_seed,
)
from nengo_lmu.networks import LMU
from nengo_lmu.tasks.experiment import fit, predict, sequence_network


def mackey_glass_series(
    n_steps,
    n_series=1,
    tau=17.0,
    beta=0.2,
    gamma=0.1,
    power=10,
    dt=0.1,
    sample_every=1.0,
    discard=500.0,
    x0=None,
    seed=0,
):
    """Integrate the Mackey-Glass delay differential equation.

    .. math:: \\frac{dx}{dt} = \\beta \\frac{x(t - \\tau)}{1 + x(t - \\tau)^n}
              - \\gamma x(t)

    with the classic chaotic parameters (beta = 0.2, gamma = 0.1, n = 10,
    tau = 17) by default. The integrator is classic fourth-order Runge-Kutta
    with step ``dt``; the delayed value at the half step is the cubic Hermite
    interpolant of the stored past (values and their derivatives). ``tau`` and
    ``sample_every`` must be whole multiples of ``dt``; the grid then meets the
    breaking points (multiples of tau, where the history's jump in slope at
    t = 0 propagates) and the scheme is fourth-order accurate (about 3e-9 at
    the default ``dt = 0.1`` over 300 time units). Each series starts from a
    constant history ``x(t) = x0`` on ``[-tau, 0]``; the first ``discard``
    time units (the transient) are dropped, then the series is sampled every
    ``sample_every`` time units.

    Parameters
    ----------
    n_steps : int
        Samples per series.
    n_series : int, optional
        Independent series, one per initial history (integrated together).
    tau, beta, gamma, power : float, optional
        The equation's delay, production rate, decay rate and exponent ``n``.
    dt : float, optional
        Integration step (default 0.1 time units).
    sample_every : float, optional
        Time between returned samples (default 1 time unit).
    discard : float, optional
        Transient dropped before the first sample, in time units (default 500).
    x0 : float or array_like of shape (n_series,), optional
        Constant initial history of each series. By default drawn uniformly
        from [0.5, 1.3] with ``numpy.random.RandomState(seed)``.
    seed : int, optional
        Seed for the drawn ``x0`` (ignored if ``x0`` is given).

    Returns
    -------
    x : ndarray of float64, shape (n_series, n_steps)
        ``x[i, k]`` is series ``i`` at time ``discard + k * sample_every``.

    Examples
    --------
    >>> x = mackey_glass_series(1000, n_series=2, seed=1)
    >>> x.shape
    (2, 1000)
    >>> bool(0.2 < x.min() and x.max() < 1.45)
    True
    """
    n_steps = check_count(n_steps, "n_steps")
    n_series = check_count(n_series, "n_series")
    tau = check_positive_finite(tau, "tau")
    beta = check_positive_finite(beta, "beta")
    gamma = check_positive_finite(gamma, "gamma")
    power = check_positive_finite(power, "power")
    dt = check_positive_finite(dt, "dt")
    sample_every = check_positive_finite(sample_every, "sample_every")
    discard = check_nonnegative(discard, "discard")
    delay = check_multiple(tau, dt, "tau", "dt")
    every = check_multiple(sample_every, dt, "sample_every", "dt")
    n_discard = int(round(discard / dt))

    if x0 is None:
        seed = check_seed(seed)
        x0 = np.random.RandomState(seed).uniform(0.5, 1.3, size=n_series)
    else:
        try:
            x0 = np.broadcast_to(np.asarray(x0, dtype=float), (n_series,)).copy()
        except (TypeError, ValueError):
            raise ValidationError(
                f"must be a number or an array of {n_series} numbers, got {x0!r}",
                attr="x0",
            ) from None
        if not np.all(np.isfinite(x0)) or np.any(x0 <= 0):
            raise ValidationError(f"must be finite and > 0, got {x0}", attr="x0")

    def production(xd):
        return beta * xd / (1.0 + xd**power)

    # Ring buffers hold x and dx/dt at the last `delay + 1` grid points:
    # slot (k mod size) is time k * dt. The history is constant, so slope 0.
    size = delay + 1
    past_x = np.tile(x0, (size, 1))
    past_f = np.zeros((size, n_series))
    x = x0.copy()
    out = np.empty((n_series, n_steps))
    first = n_discard  # grid index of the first sample
    n_total = first + (n_steps - 1) * every
    half = 0.5 * dt
    for k in range(n_total + 1):
        if k >= first and (k - first) % every == 0:
            out[:, (k - first) // every] = x
        if k == n_total:
            break
        # delayed values at t_k - tau, t_k - tau + dt, and the midpoint
        xd0 = past_x[(k - delay) % size]
        fd0 = past_f[(k - delay) % size]
        k1 = production(xd0) - gamma * x
        # t_k's own slot: written now (it is t_{k - delay - 1}'s, no longer needed)
        past_x[k % size] = x
        past_f[k % size] = k1
        xd1 = past_x[(k + 1 - delay) % size]
        # dx/dt jumps at t = 0: the interval [-dt, 0] is history, slope 0 at its end
        fd1 = past_f[(k + 1 - delay) % size] if k + 1 != delay else 0.0
        xdm = 0.5 * (xd0 + xd1) + 0.125 * dt * (fd0 - fd1)
        pm = production(xdm)
        k2 = pm - gamma * (x + half * k1)
        k3 = pm - gamma * (x + half * k2)
        k4 = production(xd1) - gamma * (x + dt * k3)
        x = x + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def mackey_glass(
    n_train=100,
    n_test=28,
    steps=5000,
    horizon=15,
    tau=17.0,
    normalize=True,
    dt=0.1,
    discard=500.0,
    seed=0,
    dtype="float32",
):
    """Mackey-Glass prediction: from the series so far, predict it ``horizon`` on.

    The LMU paper's set-up: the chaotic Mackey-Glass series with tau = 17
    (beta = 0.2, gamma = 0.1, n = 10), sampled once per time unit, and the task
    of predicting the value 15 samples ahead at every step. Each example is
    one independent series (`mackey_glass_series`, RK4 with step ``dt`` after a
    transient of ``discard`` time units) of ``steps + horizon`` samples ``s``;
    the input is ``x[:, t] = s[t]`` and the target ``y[:, t] = s[t + horizon]``
    for ``t = 0 .. steps - 1``.

    Training and test series have different initial histories: constants drawn
    uniformly from [0.5, 1.3] by ``RandomState([seed, 0])`` for training and
    ``RandomState([seed, 1])`` for test, so a smaller ``n_train`` gives a prefix
    of the larger training set and the test set does not depend on ``n_train``.

    With ``normalize`` (default), inputs and targets are standardised with the
    mean and standard deviation of the training inputs (one scalar each),
    applied to both sets.

    Parameters
    ----------
    n_train, n_test : int, optional
        Training and test series (defaults 100 and 28).
    steps : int, optional
        Steps per example (default 5000).
    horizon : int, optional
        Prediction horizon in samples (default 15), >= 1.
    tau : float, optional
        The equation's delay (default 17, the mildly chaotic regime).
    normalize : bool, optional
        Standardise with the training statistics (default True).
    dt : float, optional
        Integration step (default 0.1 time units; one sample per time unit).
    discard : float, optional
        Transient dropped from each series, in time units (default 500).
    seed : int, optional
        Seed of the initial histories.
    dtype : str or numpy.dtype, optional
        Floating-point type of the arrays (default float32).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        Each ``(batch, steps, 1)`` of ``dtype``.

    Examples
    --------
    >>> (x, y), _ = mackey_glass(n_train=4, n_test=2, steps=200)
    >>> x.shape, y.shape
    ((4, 200, 1), (4, 200, 1))
    >>> bool(np.allclose(x[:, 15:], y[:, :-15]))
    True
    """
    n_train = check_count(n_train, "n_train")
    n_test = check_count(n_test, "n_test")
    steps = check_count(steps, "steps")
    horizon = check_count(horizon, "horizon")
    seed = check_seed(seed)
    normalize = check_bool(normalize, "normalize")
    dtype = check_dtype(dtype)
    x0 = np.concatenate(
        [
            np.random.RandomState([seed, 0]).uniform(0.5, 1.3, size=n_train),
            np.random.RandomState([seed, 1]).uniform(0.5, 1.3, size=n_test),
        ]
    )
    series = mackey_glass_series(
        steps + horizon,
        n_series=n_train + n_test,
        tau=tau,
        dt=dt,
        discard=discard,
        x0=x0,
    )
    x = series[:, :steps]
    y = series[:, horizon:]
    if normalize:
        mean = x[:n_train].mean()
        std = x[:n_train].std()
        x = (x - mean) / std
        y = (y - mean) / std
    x = x[:, :, None].astype(dtype)
    y = y[:, :, None].astype(dtype)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# --- the Mackey-Glass experiment ------------------------------------------------


def mackey_glass_network(order=12, theta=0.05, hidden_units=40, dt=0.001, seed=0):
    """An LMU that predicts the series' change: ``prediction = x + W h``.

    The readout ``W`` starts at zero, so the untrained network predicts "no
    change" (the persistence baseline) and training learns the change.

    Returns
    -------
    net : nengo.Network
        With attributes ``stim`` (input Node), ``lmu`` and ``probe`` (the
        prediction).

    Examples
    --------
    >>> net = mackey_glass_network(order=4, hidden_units=8)
    >>> net.probe.size_in
    1
    """
    hidden_units = check_count(hidden_units, "hidden_units")
    lmu = LMU(
        1,
        1,
        order,
        theta,
        hidden_units=hidden_units,
        input_to_hidden=True,
        dt=dt,
        seed=seed,
        add_to_container=False,
    )
    net = sequence_network(
        lmu,
        size_out=1,
        readout="zeros",
        bias=False,
        seed=seed,
        input_label="series",
        output_label="prediction",
    )
    with net:
        nengo.Connection(net.stim, net.output, synapse=None)  # learn the change
    return net


def train_mackey_glass(
    net, train, epochs=30, learning_rate=3e-3, batch_size=16, unroll=10, verbose=0
):
    """Train ``net`` (`mackey_glass_network`) in NengoDL on the mean squared
    error at every step, and write the trained parameters into the network
    (`nengo_lmu.tasks.experiment.fit`).

    Returns
    -------
    history : dict
        Keras's per-epoch ``loss``.
    """
    return fit(
        net,
        train,
        loss="mse",
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        unroll=unroll,
        verbose=verbose,
    )


def evaluate_mackey_glass(net, test, batch_size=16, progress_bar=False):
    """NRMSE of ``net``'s prediction on ``test``, and of predicting no change.

    Both are ``sqrt(mean((prediction - y)^2)) / std(y)`` over every step.

    Returns
    -------
    nrmse, persistence : float
    """
    x, y = test
    out = predict(net, x, last=False, batch_size=batch_size, progress_bar=progress_bar)
    scale = np.std(y)
    nrmse = np.sqrt(np.mean((out - y) ** 2)) / scale
    persistence = np.sqrt(np.mean((x - y) ** 2)) / scale
    return float(nrmse), float(persistence)
