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

from nengo_lmu._validation import check_choice, check_count, check_positive_finite
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
    l2 = float(l2)
    if not np.isfinite(l2) or l2 < 0:
        raise ValidationError(f"must be finite and >= 0; got {l2}", attr="l2")
    check_count(batch_size, "batch_size")
    check_positive_finite(dt, "dt")
    if readout.function is not None or not isinstance(
        readout.transform, nengo.transforms.Dense
    ):
        raise ValidationError(
            "the readout must be a plain dense transform (no function)", attr="net"
        )

    with net:
        probe = nengo.Probe(readout.pre, synapse=readout.synapse)
    try:
        features = run_sequences(
            net,
            x,
            backend,
            probes=probe,
            last=True,
            batch_size=batch_size,
            dt=dt,
            progress_bar=progress_bar,
        )
    finally:
        net.probes.remove(probe)
    if isinstance(readout.transform.init, nengo.dists.Distribution):
        raise ValidationError(
            "the readout's weight is still a distribution: train the network "
            "first (fit writes the trained weights back) or give an array",
            attr="net",
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
