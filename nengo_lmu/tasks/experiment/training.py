"""Training and prediction in NengoDL, and the batch rule."""

import os

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._atomic import replaced_atomically
from nengo_lmu._validation import check_choice, check_count, check_positive_finite

#: Losses `fit` knows by name (anything else is passed to Keras as it is)
LOSSES = ("crossentropy", "mse")


def batch_size_for(n, batch_size):
    """The batch size used for ``n`` sequences when ``batch_size`` is asked for:
    the largest divisor of ``n`` not above ``batch_size``.

    Examples
    --------
    >>> batch_size_for(1000, 100), batch_size_for(28, 16), batch_size_for(7, 3)
    (100, 14, 1)
    """
    n = check_count(n, "n")
    batch_size = check_count(batch_size, "batch_size")
    return max(d for d in range(1, min(n, batch_size) + 1) if n % d == 0)


def _sequence_parts(net):
    for name in ("stim", "probe"):
        if not hasattr(net, name):
            raise ValidationError(
                f"must be a sequence network with 'stim' and 'probe' attributes "
                f"(see sequence_network); it has no '{name}'",
                attr="net",
            )
    return net.stim, net.probe


def _sequences(x, attr="x"):
    x = np.asarray(x)
    if x.ndim != 3 or len(x) == 0 or x.shape[1] == 0:
        raise ValidationError(
            f"must be an array (sequences, steps, dimensions); got shape {x.shape}",
            attr=attr,
        )
    return x


def _loss_and_metrics(tf, loss, metrics):
    if isinstance(loss, str):
        check_choice(loss, LOSSES, "loss")
        loss = (
            tf.losses.SparseCategoricalCrossentropy(from_logits=True)
            if loss == "crossentropy"
            else tf.losses.mse
        )
    named = {"accuracy": lambda: tf.metrics.SparseCategoricalAccuracy("accuracy")}
    out = []
    for metric in metrics:
        if isinstance(metric, str):
            out.append(named[check_choice(metric, named, "metrics")]())
        else:
            out.append(metric)
    return loss, out


def fit(
    net,
    train,
    loss="crossentropy",
    epochs=1,
    learning_rate=1e-3,
    batch_size=100,
    unroll=1,
    metrics=(),
    test=None,
    fixed=(),
    regularize=True,
    params_path=None,
    callbacks=None,
    freeze=True,
    verbose=0,
    progress_bar=None,
    seed=0,
    **settings,
):
    """Train a sequence network in NengoDL with Adam, and keep the result.

    The recipe: `nengo_lmu.dl.configure_training` (every LMU memory fixed,
    each sequence from zero state), a ``nengo_dl.Simulator`` with the batch
    and unroll rules of this module, the LMUs' regularizers
    (`nengo_lmu.dl.add_regularization`), ``compile``, ``fit``, then the
    trained weights written back into ``net`` (``freeze_params``).

    Parameters
    ----------
    net : nengo.Network
        A sequence network (``stim`` and ``probe``; `sequence_network`).
    train : (x, y)
        Inputs ``(sequences, steps, dims)``; targets ``(sequences, 1, d)``
        for the last step (only the last step is kept and trained on) or
        ``(sequences, steps, d)`` for every step.
    loss : "crossentropy", "mse" or a Keras loss
        "crossentropy": sparse categorical cross-entropy of logits (integer
        labels); "mse": mean squared error.
    epochs : int
    learning_rate : float
        Adam's learning rate.
    batch_size : int
        Largest minibatch (see `batch_size_for`).
    unroll : int
        Largest ``unroll_simulation``: the largest divisor of the steps not
        above it. More unrolled steps run faster per step but take longer to
        build (benchmark B2).
    metrics : list of str or Keras metrics
        "accuracy" (sparse categorical) or metric objects.
    test : (x, y), optional
        Evaluated after training; its losses and metrics are added to the
        history as ``test_<name>``.
    fixed : list of str
        LMU weights that stay fixed (`nengo_lmu.dl.configure_training`).
    regularize : bool
        Add the LMUs' own regularizers to the loss (none unless the LMUs
        were given some).
    params_path : str, optional
        Write the trained parameters there (NengoDL's ``save_params``, plus
        ``.npz``), whole or not at all.
    callbacks : list of Keras callbacks, optional
    freeze : bool
        Write the trained weights back into ``net`` (default).
    verbose : int
        Keras's verbosity (0, 1 or 2).
    progress_bar : bool, optional
        NengoDL's build progress bar; default ``verbose > 0``.
    seed : int
        The simulator's seed.
    **settings
        For `nengo_lmu.dl.configure_training` (``planner``,
        ``simplifications``, ``train_memory``, ...).

    Returns
    -------
    history : dict
        Keras's per-epoch losses and metrics (``loss``, ``accuracy``, ...),
        with the test set's as ``test_<name>``.

    Examples
    --------
    >>> net = sequence_network(LMU(1, 1, 4, 0.01, hidden_units=8), size_out=10)
    >>> history = fit(net, (x, y), epochs=2)  # doctest: +SKIP
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.dl import (  # pylint: disable=import-outside-toplevel
        add_regularization,
        configure_training,
        import_nengo_dl,
    )

    nengo_dl = import_nengo_dl()
    stim, probe = _sequence_parts(net)
    x, y = train
    x = _sequences(x, "train")
    y = np.asarray(y)
    epochs = check_count(epochs, "epochs")
    learning_rate = check_positive_finite(learning_rate, "learning_rate")
    configure_training(
        net, keep_history=y.ndim == 3 and y.shape[1] > 1, fixed=fixed, **settings
    )
    loss, metrics = _loss_and_metrics(tf, loss, metrics)
    if progress_bar is None:
        progress_bar = verbose > 0
    with nengo_dl.Simulator(
        net,
        minibatch_size=batch_size_for(len(x), batch_size),
        unroll_simulation=batch_size_for(x.shape[1], unroll),
        progress_bar=progress_bar,
        seed=seed,
    ) as sim:
        if regularize:
            add_regularization(sim)
        sim.compile(
            optimizer=tf.optimizers.Adam(learning_rate),
            loss={probe: loss},
            metrics={probe: metrics} if metrics else None,
        )
        result = sim.fit(
            {stim: x}, {probe: y}, epochs=epochs, callbacks=callbacks, verbose=verbose
        )
        history = {k.replace("probe_", ""): v for k, v in result.history.items()}
        if test is not None:
            x_test, y_test = test
            scores = sim.evaluate({stim: x_test}, {probe: y_test}, verbose=0)
            for key, value in scores.items():
                history.setdefault("test_" + key.replace("probe_", ""), float(value))
        if params_path is not None:
            # written whole or not at all (NengoDL adds the .npz)
            with replaced_atomically(os.fspath(params_path) + ".npz", ".npz") as tmp:
                sim.save_params(tmp[: -len(".npz")])
        if freeze:
            sim.freeze_params(net)
    return history


def predict(
    net, x, last=True, probe=None, batch_size=100, dt=0.001, progress_bar=False
):
    """A sequence network's output for each sequence of ``x``, in NengoDL.

    Each sequence starts from zero state; batches follow `batch_size_for`.

    Parameters
    ----------
    net : nengo.Network
        A sequence network (``stim`` and ``probe``).
    x : array_like (sequences, steps, dims)
    last : bool
        Return the last step only (default) or every step. (A network
        trained on the last step keeps only that step: configure it again
        with ``configure_training(net, keep_history=True)`` for the whole
        sequence.)
    probe : nengo.Probe, optional
        Another probe of ``net`` to read (default ``net.probe``).
    batch_size : int
        Largest minibatch.
    dt : float
    progress_bar : bool

    Returns
    -------
    out : ndarray
        ``(sequences, d)`` with ``last``, else ``(sequences, steps, d)``.

    Examples
    --------
    >>> logits = predict(net, x_test)  # doctest: +SKIP
    >>> accuracy = classification_accuracy(logits, y_test)  # doctest: +SKIP
    """
    _, net_probe = _sequence_parts(net)
    probe = net_probe if probe is None else probe
    out = _predict(net, _sequences(x), [probe], batch_size, dt, progress_bar)[0]
    return out[:, -1] if last else out


def _predict(net, x, probes, batch_size, dt, progress_bar):
    """Every step of ``probes`` for each sequence of ``x``, in NengoDL."""
    from nengo_lmu.dl import import_nengo_dl  # pylint: disable=C0415

    nengo_dl = import_nengo_dl()
    with nengo_dl.Simulator(
        net,
        dt=dt,
        minibatch_size=batch_size_for(len(x), batch_size),
        progress_bar=progress_bar,
    ) as sim:
        out = sim.predict({net.stim: x}, n_steps=x.shape[1])
    return [out[p] for p in probes]


def classification_accuracy(logits, labels):
    """The share of sequences whose largest logit is at their label.

    Examples
    --------
    >>> classification_accuracy([[0.1, 2.0], [3.0, 0.0]], [1, 1])
    0.5
    """
    logits = np.asarray(logits)
    labels = np.reshape(labels, -1)
    if len(logits) != len(labels):
        raise ValidationError(
            f"{len(labels)} labels for {len(logits)} sequences", attr="labels"
        )
    return float(np.mean(np.argmax(logits, axis=-1) == labels))
