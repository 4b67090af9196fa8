"""Refitting a sequence network's readout on what a backend's model outputs.

A network trained in NengoDL with rate neurons meets other neurons when it
runs: spiking twins, the chip's neuron model, the chip's quantised weights.
Its readout (a Node, on the host) was fitted to the rate model's output; this
module fits it again, by softmax regression, to the model's output as the
backend that will run it produces it (`run_sequences`), starting from and
pulled toward the trained readout.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_choice,
    check_count,
    check_nonnegative,
    check_positive_finite,
)
from nengo_lmu.tasks.experiment.running import BACKENDS, run_sequences
from nengo_lmu.tasks.experiment.training import _sequences


def _readout_parts(net):
    """The readout and bias connections `sequence_network` recorded."""
    readout = getattr(net, "readout_conn", None)
    if readout is None:
        raise ValidationError(
            "needs a sequence network with a readout (sequence_network(..., "
            "size_out=...), readout not None): no 'readout_conn'",
            attr="net",
        )
    return readout, getattr(net, "bias_conn", None)


def _softmax_fit(features, labels, w0, b0, l2, fit_bias):
    """Weights minimising mean cross-entropy plus ``l2 / 2`` times the squared
    distance to ``(w0, b0)`` (in standardised feature units)."""
    import scipy.optimize  # pylint: disable=import-outside-toplevel

    n, n_feats = features.shape
    n_classes = w0.shape[1]
    onehot = np.eye(n_classes)[labels]
    start = np.concatenate([w0.ravel(), b0])

    def loss(params):
        w = params[: n_feats * n_classes].reshape(n_feats, n_classes)
        b = params[n_feats * n_classes :]
        z = features @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(p[np.arange(n), labels] + 1e-300))
        dz = (p - onehot) / n
        dw = features.T @ dz + l2 * (w - w0)
        db = dz.sum(axis=0) + l2 * (b - b0) if fit_bias else np.zeros_like(b)
        penalty = 0.5 * l2 * (np.sum((w - w0) ** 2) + np.sum((b - b0) ** 2))
        return value + penalty, np.concatenate([dw.ravel(), db])

    params = scipy.optimize.minimize(loss, start, jac=True, method="L-BFGS-B").x
    return (
        params[: n_feats * n_classes].reshape(n_feats, n_classes),
        params[n_feats * n_classes :],
    )


def refit_readout(
    net,
    x,
    labels,
    backend="nengo",
    l2=1e-2,
    batch_size=50,
    dt=0.001,
    progress_bar=False,
):
    """Refit a classifier's readout to the model's output on ``backend``.

    Runs every sequence of ``x`` on ``backend`` (`run_sequences`), records
    the model's output at the last step as the readout reads it (through the
    readout connection's synapse), and fits the readout's weight (and its
    bias, where `sequence_network` gave it one) by softmax regression,
    starting from the current weights and pulled toward them by ``l2``, so
    that a few hundred sequences adjust a readout trained on thousands
    rather than replace it. The readout is a Node on the host, so on Loihi
    this changes nothing on the chip.

    Parameters
    ----------
    net : nengo.Network
        A `sequence_network` with a readout (``readout_conn``).
    x : array_like (sequences, steps, dims)
        Training sequences (one value per step of ``dt``).
    labels : array_like of int
        One class per sequence, ``0 <= label < size_out``.
    backend : "nengo", "dl" or "loihi"
        What runs the sequences (`run_sequences`).
    l2 : float
        Strength of the pull toward the current weights, per standardised
        feature (0 fits freely).
    batch_size : int
        As in `run_sequences`.
    dt : float
    progress_bar : bool

    Returns
    -------
    accuracy : tuple of float
        On ``x``, before and after the refit.

    Examples
    --------
    >>> before, after = refit_readout(chip, x_train[:300], y_train[:300],
    ...                               backend="loihi")  # doctest: +SKIP
    """
    readout, bias = _readout_parts(net)
    check_choice(backend, BACKENDS, "backend")
    x = _sequences(x)
    labels = np.reshape(np.asarray(labels), -1)
    n_classes = readout.size_out
    if len(labels) != len(x):
        raise ValidationError(
            f"{len(labels)} labels for {len(x)} sequences", attr="labels"
        )
    if not np.all(np.isfinite(labels.astype(float))) or np.any(
        labels != np.round(labels)
    ):
        raise ValidationError("must be whole numbers (class indices)", attr="labels")
    labels = labels.astype(int)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValidationError(
            f"must be class indices in [0, {n_classes}) (the readout's size_out); "
            f"got {labels.min()} to {labels.max()}",
            attr="labels",
        )
    l2 = check_nonnegative(l2, "l2")
    check_count(batch_size, "batch_size")
    check_positive_finite(dt, "dt")
    if readout.function is not None or not isinstance(
        readout.transform, nengo.transforms.Dense
    ):
        raise ValidationError(
            "the readout must be a plain dense transform (no function)", attr="net"
        )
    if isinstance(readout.transform.init, nengo.dists.Distribution):
        raise ValidationError(
            "the readout's weight is still a distribution: train the network "
            "first (fit writes the trained weights back) or give an array",
            attr="net",
        )

    features = _record(
        net,
        readout.pre,
        readout.synapse,
        x,
        backend,
        batch_size,
        dt,
        progress_bar,
        last=True,
    )
    w = np.array(readout.transform.init, dtype=float)
    if w.ndim < 2:  # a scalar or diagonal transform: make it dense
        w = w * np.eye(n_classes, readout.size_in)
    b = np.zeros(n_classes)
    if bias is not None:
        b = np.array(bias.transform.init, dtype=float).reshape(n_classes)
    # standardised features, so that l2 means the same for every feature
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    before = float(np.mean(np.argmax(features @ w.T + b, axis=1) == labels))
    w_std, b = _softmax_fit(
        features / scale, labels, (w * scale).T, b, l2, fit_bias=bias is not None
    )
    w = (w_std / scale[:, None]).T
    readout.transform = w
    if bias is not None:
        bias.transform = b[:, None]
    after = float(np.mean(np.argmax(features @ w.T + b, axis=1) == labels))
    return before, after


def _lmu_of(net, name):
    lmu = getattr(net, "lmu", None)
    if lmu is None or lmu.hidden is None:
        raise ValidationError(
            "needs a sequence network around an LMU with hidden units "
            "(sequence_network(lmu, ...)): no 'lmu' with a hidden ensemble",
            attr=name,
        )
    return lmu


def _record(net, target, synapse, x, backend, batch_size, dt, progress_bar, last):
    """``target`` (through ``synapse``) for each sequence on ``backend``, at
    every step or the ``last``, through a probe added to ``net`` for the run
    only."""
    with net:
        probe = nengo.Probe(target, synapse=synapse)
    if not last:
        try:
            # a network trained on its last step (fit) keeps only that step
            # of every probe in NengoDL: this one needs the whole sequence
            net.config[probe].keep_history = True
        except AttributeError:  # no NengoDL settings in this network's config
            pass
    try:
        return run_sequences(
            net,
            x,
            backend,
            probes=probe,
            last=last,
            batch_size=batch_size,
            dt=dt,
            progress_bar=progress_bar,
        )
    finally:
        net.probes.remove(probe)


def _memory_states(net, x, backend, window, stride, batch_size, dt, progress_bar):
    """The memory's output as the hidden units read it (no synapse), at every
    ``stride``-th of the last ``window`` steps, stacked over sequences."""
    out = _record(
        net,
        net.lmu.memory.output,
        None,
        x,
        backend,
        batch_size,
        dt,
        progress_bar,
        last=False,
    )[:, -window::stride]
    return out.reshape(-1, out.shape[-1])


def correct_memory_reading(
    reference,
    net,
    x,
    backend="loihi",
    reference_backend="dl",
    window=None,
    stride=5,
    ridge=1e-3,
    batch_size=50,
    dt=0.001,
    progress_bar=False,
):
    """Let ``net``'s hidden units read its memory as ``reference``'s read theirs.

    A neural memory on another backend (the chip's loop, its neuron model, its
    weights) represents the Legendre state with a distortion that the hidden
    units, trained on ``reference``'s memory, never saw. Much of it is linear
    (a leak of the slowest coefficients, a gain on others). This runs ``x``
    through both networks, records the memory's output (what the hidden units
    read) over the last ``window`` steps, fits ``reference ~ L net + l0`` by
    ridge regression, and folds ``L`` and ``l0`` into ``net``'s memory-to-hidden
    weight and hidden biases: the hidden units then receive the best linear
    estimate of the state they were trained on. The memory itself, fixed in
    training, is not changed.

    Parameters
    ----------
    reference : nengo.Network
        The trained `sequence_network` (its LMU has hidden units).
    net : nengo.Network
        Its twin for ``backend`` (`copy_trained`, `nengo_lmu.spiking.to_spiking`),
        changed in place.
    x : array_like (sequences, steps, dims)
        Sequences to fit on (training data).
    backend, reference_backend : "nengo", "dl" or "loihi"
        What runs ``net`` and ``reference`` (`run_sequences`).
    window, stride : int
        Fit on every ``stride``-th of the last ``window`` steps (default: the
        last 50 steps, or all of a shorter sequence).
    ridge : float
        Ridge penalty per sample, relative to the mean squared state of
        ``net``'s memory (the intercept is not penalised).
    batch_size : int
    dt : float
    progress_bar : bool

    Returns
    -------
    nrmse : tuple of float
        Error of ``net``'s memory as the hidden units read it against
        ``reference``'s (RMS over dimensions, relative to ``reference``'s
        standard deviation), on ``x``, before and after the correction.

    Examples
    --------
    >>> before, after = correct_memory_reading(
    ...     rate, chip, x_train[:200], backend="loihi")  # doctest: +SKIP
    """
    ref_lmu = _lmu_of(reference, "reference")
    lmu = _lmu_of(net, "net")
    check_choice(backend, BACKENDS, "backend")
    check_choice(reference_backend, BACKENDS, "reference_backend")
    x = _sequences(x)
    window = min(50, x.shape[1]) if window is None else check_count(window, "window")
    stride = check_count(stride, "stride")
    if window > x.shape[1]:
        raise ValidationError(
            f"must be at most the sequences' {x.shape[1]} steps; got {window}",
            attr="window",
        )
    ridge = check_nonnegative(ridge, "ridge")
    check_count(batch_size, "batch_size")
    check_positive_finite(dt, "dt")
    n_mem = lmu.memory.output.size_out
    if ref_lmu.memory.output.size_out != n_mem:
        raise ValidationError(
            f"has {n_mem} memory dimensions, reference "
            f"{ref_lmu.memory.output.size_out}: not twins",
            attr="net",
        )
    conn = lmu.weight_connections["hidden_kernel"][0]
    weight = conn.transform.init
    if isinstance(weight, nengo.dists.Distribution) or not isinstance(
        lmu.hidden.bias, np.ndarray
    ):
        raise ValidationError(
            "the memory-to-hidden weight and hidden biases must be arrays: "
            "train the network first (fit writes the trained weights back)",
            attr="net",
        )

    rest = (window, stride, batch_size, dt, progress_bar)
    target = _memory_states(reference, x, reference_backend, *rest)
    states = _memory_states(net, x, backend, *rest)
    if states.shape != target.shape:
        raise ValidationError(
            f"recorded {states.shape} memory states, reference {target.shape}",
            attr="net",
        )
    # ridge regression with an unpenalised intercept, on centred states
    mean, target_mean = states.mean(axis=0), target.mean(axis=0)
    a, b = states - mean, target - target_mean
    penalty = ridge * len(a) * max(np.mean(a**2), 1e-300)
    gram = a.T @ a + penalty * np.eye(n_mem)
    L = np.linalg.solve(gram, a.T @ b).T  # reference ~ L (net - mean) + ...
    l0 = target_mean - L @ mean

    def nrmse(estimate):
        rms = np.sqrt(np.mean((estimate - target) ** 2, axis=0))
        return float(np.sqrt(np.mean((rms / (target.std(axis=0) + 1e-300)) ** 2)))

    before, after = nrmse(states), nrmse(states @ L.T + l0)
    weight = np.array(weight, dtype=float)
    conn.transform = weight @ L
    lmu.hidden.bias = lmu.hidden.bias + weight @ l0
    return before, after
