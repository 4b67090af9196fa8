"""The LMU paper's Mackey-Glass experiment (its ``mackey-glass.ipynb``).

Data
    `paper_mackey_glass_series` is the notebook's generator: the
    Mackey-Glass equation (tau = 17, beta = 0.2, gamma = 0.1, n = 10)
    integrated by Euler's method with 10 sub-steps per sample, from a history
    of ``1.2 + 0.2 (U(0, 1) - 0.5)``, squashed by ``tanh(x - 1)``.
    `paper_mackey_glass_data` makes the notebook's data set: 128 series of
    5,000 + 15 + 100 samples, the first 100 dropped, centred by the global
    mean, the first half for training; the input is the series and the
    target the series 15 samples later.
Models
    `paper_models`: four layers each, as in the notebook. The LSTM is Keras's
    ``LSTM`` (25 units per layer) and a ``Dense(1, tanh)``; the LMU's layers
    (49 units, order 4, theta 4 steps) are `~nengo_lmu.LMU` networks built
    with NengoLMU and exported to Keras with
    `nengo_lmu.interop.export.to_keras`, then a linear ``Dense(1)``; the
    hybrid is LMU(40), LSTM(25), LMU(40), LSTM(25) and ``Dense(1, tanh)``.
Training and scoring
    `train_paper_model` (Adam on the MSE, batch 32, validation split 0.5, the
    weights of the best validation loss kept) and `paper_nrmse` (test NRMSE,
    the baseline being the input itself).

The paper's LMU cell (``lmu.LMUCell`` of its code) and NengoLMU's LMU (that
is, KerasLMU 0.8's) compute the same update::

    u = e_x x + e_h h + e_m m          (memory input: input, hidden, memory encoders)
    m = Abar m + Bbar u                (zero-order hold of theta)
    h = tanh(W_x x + W_h h + W_m m)

and differ in three details: KerasLMU's hidden cell (a ``SimpleRNNCell``)
has a bias, the paper's has none; the paper initialises its encoders
``lecun_uniform`` with the memory encoders at zero and its kernels
``glorot_normal``, KerasLMU its encoders ``glorot_uniform`` (memory encoders
``orthogonal`` among them in NengoLMU's LMU) and its hidden cell as Keras's
``SimpleRNNCell``; and the paper's update ``m + m (Abar - I)^T + u Bbar^T``
is the same matrices in another form.

This is not `nengo_lmu.tasks.mackey_glass`, a different, forward-prediction
experiment with its own integrator.

TensorFlow and KerasLMU are imported by the functions that build and train
models; matplotlib by `plot_paper_mackey_glass`.
"""

import time

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_choice, check_count, check_seed
from nengo_lmu.tasks._plotting import pyplot, save_figure

__all__ = [
    "PAPER_NRMSE",
    "MODELS",
    "paper_mackey_glass_series",
    "paper_mackey_glass_data",
    "paper_models",
    "train_paper_model",
    "paper_nrmse",
    "run_paper_mackey_glass",
    "plot_paper_mackey_glass",
]

#: The paper's test NRMSE (Voelker, Kajic and Eliasmith, 2019)
PAPER_NRMSE = {"lstm": 0.07940, "lmu": 0.05438, "hybrid": 0.05049, "baseline": 1.62274}
#: The models, in the paper's order
MODELS = ("lstm", "lmu", "hybrid")
#: The notebook's settings
TAU = 17
DELTA_T = 10
PREDICT_LENGTH = 15
WASHOUT = 100
BATCH_SIZE = 32


def paper_mackey_glass_series(n_series, length, tau=TAU, delta_t=DELTA_T, seed=0):
    """Series of the notebook's Mackey-Glass generator.

    Each sample is ``delta_t`` Euler steps of size ``1 / delta_t`` of

    .. math:: \\frac{dx}{dt} = \\frac{0.2\\, x(t - \\tau)}{1 + x(t - \\tau)^{10}}
              - 0.1\\, x(t),

    the delayed value being the value ``tau * delta_t`` steps back. Each
    series starts from a history of ``tau * delta_t`` values ``1.2 + 0.2
    (U(0, 1) - 0.5)`` drawn from ``numpy.random.RandomState(seed)`` (series
    after series, as the notebook's ``np.random.seed(seed)`` then
    ``np.random.rand``), and from the current value where the previous series
    ended (the notebook keeps one ``timeseries`` value across series; the
    first starts at 1.2). The samples are returned as ``tanh(x - 1)``.

    Parameters
    ----------
    n_series : int
        Series.
    length : int
        Samples per series.
    tau : int
        The delay in time units (a whole number).
    delta_t : int
        Euler steps per time unit (and per sample).
    seed : int
        Seed of the histories.

    Returns
    -------
    series : ndarray, shape (n_series, length)
    """
    n_series = check_count(n_series, "n_series")
    length = check_count(length, "length")
    tau = check_count(tau, "tau")
    delta_t = check_count(delta_t, "delta_t")
    rng = np.random.RandomState(check_seed(seed))
    history_len = tau * delta_t
    out = np.empty((n_series, length))
    value = 1.2
    for i in range(n_series):
        # buffer[k] is the value k steps after the history's start; the
        # history fills the first history_len places
        buffer = np.empty(history_len + length * delta_t)
        buffer[:history_len] = 1.2 + 0.2 * (rng.rand(history_len) - 0.5)
        buf = buffer.tolist()  # plain floats: the loop is scalar
        x = value
        for k in range(length * delta_t):
            delayed = buf[k]
            buf[history_len + k] = x
            x = x + (0.2 * delayed / (1.0 + delayed**10) - 0.1 * x) / delta_t
            if (k + 1) % delta_t == 0:
                out[i, (k + 1) // delta_t - 1] = x
        value = x
    return np.tanh(out - 1)


def paper_mackey_glass_data(
    n_series=128,
    length=5000,
    predict_length=PREDICT_LENGTH,
    washout=WASHOUT,
    split=0.5,
    seed=0,
):
    """The notebook's data set: inputs and targets 15 samples apart.

    ``n_series`` series of ``length + predict_length + washout`` samples
    (`paper_mackey_glass_series`), the first ``washout`` dropped, minus their
    global mean (over all series and samples). As in the notebook
    (``Y = X[:, predict_length:]; X = X[:, :-predict_length]``), the target
    at each step is the series ``predict_length`` samples later. The first
    ``split`` of the series are for training, the rest for testing.

    Returns
    -------
    (train_x, train_y), (test_x, test_y) : ndarray, shape (n, length, 1)
    """
    check_count(predict_length, "predict_length")
    check_count(washout, "washout", low=0)
    if not 0 < split < 1:
        raise ValidationError(f"must be in (0, 1), got {split!r}", attr="split")
    series = paper_mackey_glass_series(
        n_series, length + predict_length + washout, seed=seed
    )[:, washout:, None]
    series = series - np.mean(series)
    y = series[:, predict_length:]
    x = series[:, :-predict_length]
    cut = int(split * n_series)
    if not 0 < cut < n_series:
        raise ValidationError(
            f"leaves no training or no test series of n_series={n_series}",
            attr="split",
        )
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def _lmu_block(x, size_in, units, order, theta_steps, seed):
    """Apply a NengoLMU LMU (exported to Keras) to the Keras tensor ``x``."""
    from nengo_lmu.interop.export import to_keras  # pylint: disable=C0415
    from nengo_lmu.networks import LMU  # pylint: disable=C0415

    dt = 0.001
    with nengo.Network():
        lmu = LMU(
            size_in,
            memory_d=1,
            order=order,
            theta=theta_steps * dt,
            hidden_units=units,
            hidden_to_memory=True,
            memory_to_memory=True,
            input_to_hidden=True,
            dt=dt,
            seed=seed,
        )
    model = to_keras(lmu, return_sequences=True, feedforward=False)
    return model(x), lmu


def paper_models(kind, seed=0):
    """One of the notebook's models, compiled (Adam, MSE).

    Parameters
    ----------
    kind : {"lstm", "lmu", "hybrid"}
        ``"lstm"``: four ``LSTM(25)`` and ``Dense(1, tanh)``; ``"lmu"``: four
        NengoLMU LMUs (49 tanh units, order 4, theta 4 steps) and a linear
        ``Dense(1)``; ``"hybrid"``: LMU(40), LSTM(25), LMU(40), LSTM(25) and
        ``Dense(1, tanh)``.
    seed : int
        Seed of Keras's initialisers and of the LMUs.

    Returns
    -------
    model : tf.keras.Model
        With the NengoLMU networks of its LMU layers as ``model.nengo_lmus``.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    check_choice(kind, MODELS, "kind")
    tf.keras.utils.set_random_seed(seed)
    layers = {
        "lstm": [("lstm", 25)] * 4,
        "lmu": [("lmu", 49)] * 4,
        "hybrid": [("lmu", 40), ("lstm", 25), ("lmu", 40), ("lstm", 25)],
    }[kind]
    inp = tf.keras.Input((None, 1))
    x, size, lmus = inp, 1, []
    for i, (layer, units) in enumerate(layers):
        if layer == "lstm":
            x = tf.keras.layers.LSTM(units, return_sequences=True)(x)
        else:
            x, lmu = _lmu_block(x, size, units, 4, 4, seed + i)
            lmus.append(lmu)
        size = units
    activation = None if kind == "lmu" else "tanh"
    out = tf.keras.layers.Dense(1, activation=activation)(x)
    model = tf.keras.Model(inp, out, name=f"paper_{kind}")
    model.compile(tf.keras.optimizers.Adam(), "mse")
    model.nengo_lmus = lmus
    return model


class _KeepBest:
    """Keras callback keeping the weights of the lowest validation loss (the
    notebook's ``ModelCheckpoint(save_best_only=True)``, in memory)."""

    def __new__(cls):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        class KeepBest(tf.keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best, self.weights, self.epoch = np.inf, None, None

            def on_epoch_end(self, epoch, logs=None):
                loss = (logs or {}).get("val_loss", np.inf)
                if loss < self.best:
                    self.best, self.epoch = loss, epoch
                    self.weights = self.model.get_weights()

        return KeepBest()


def train_paper_model(model, train, epochs, verbose=0):
    """Train as the notebook: batch 32, ``validation_split=0.5``, shuffled,
    ``epochs`` epochs, then restore the weights of the best validation loss.

    Returns
    -------
    history : dict
        Keras's ``loss`` and ``val_loss`` per epoch, ``best_epoch`` (from 1)
        and ``seconds``.
    """
    keep = _KeepBest()
    start = time.perf_counter()
    hist = model.fit(
        train[0],
        train[1],
        batch_size=BATCH_SIZE,
        epochs=check_count(epochs, "epochs"),
        validation_split=0.5,
        callbacks=[keep],
        verbose=verbose,
    )
    if keep.weights is not None:
        model.set_weights(keep.weights)
    history = dict(hist.history)
    history["best_epoch"] = None if keep.epoch is None else keep.epoch + 1
    history["seconds"] = time.perf_counter() - start
    return history


def paper_nrmse(prediction, target):
    """Normalised root-mean-squared error: ``rms(prediction - target) /
    rms(target)`` over all series and steps (the target is centred)."""
    prediction, target = np.asarray(prediction), np.asarray(target)
    return float(np.sqrt(np.mean((prediction - target) ** 2) / np.mean(target**2)))


def run_paper_mackey_glass(
    models=MODELS,
    epochs=10,
    n_series=128,
    length=5000,
    seed=0,
    verbose=0,
):
    """The experiment: data, each model trained and scored on the test half.

    Returns
    -------
    result : dict
        ``nrmse`` (per model, and ``"baseline"``: the input as the
        prediction), ``params`` (trainable parameters per model),
        ``histories``, ``error`` (per model: the test RMSE at each step,
        over the test series), ``seconds``, and the settings.
    """
    train, (test_x, test_y) = paper_mackey_glass_data(n_series, length, seed=seed)
    result = dict(
        nrmse={"baseline": paper_nrmse(test_x, test_y)},
        params={},
        histories={},
        error={"baseline": np.sqrt(np.mean((test_x - test_y) ** 2, axis=(0, 2)))},
        epochs=epochs,
        n_series=n_series,
        length=length,
    )
    for kind in models:
        model = paper_models(kind, seed=seed)
        result["histories"][kind] = train_paper_model(model, train, epochs, verbose)
        pred = model.predict(test_x, batch_size=BATCH_SIZE, verbose=0)
        result["nrmse"][kind] = paper_nrmse(pred, test_y)
        result["error"][kind] = np.sqrt(np.mean((pred - test_y) ** 2, axis=(0, 2)))
        result["params"][kind] = int(
            sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        )
    return result


def plot_paper_mackey_glass(path, result):
    """The test error over time per model (RMSE over the test series at each
    step), written to ``path``."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for kind, err in result["error"].items():
        label = f"{kind} (NRMSE {100 * result['nrmse'][kind]:.2f} %)"
        style = dict(color="0.6", lw=0.8) if kind == "baseline" else {}
        ax.plot(err, label=label, **style)
    ax.set_yscale("log")
    ax.set_xlabel("time step")
    ax.set_ylabel("test RMSE")
    ax.set_title(
        f"Mackey-Glass, {result['n_series'] // 2} test series, "
        f"{result['epochs']} epochs"
    )
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)
