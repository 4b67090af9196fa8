"""End-to-end recipes shared by the ``nengo-lmu`` command, the examples and
the benchmarks: the spiking delay demo and psMNIST training.

NengoDL, TensorFlow and matplotlib are imported inside the functions that use
them.
"""

import os
import time

import nengo
import numpy as np

from nengo_lmu.basis import legendre_window_basis
from nengo_lmu.networks import LMU, LMUMemory

DELAYS = (0.25, 0.5, 1.0)


def delay_network(theta=1.0, order=6, n_neurons=100, neuron_type=None,
                  max_rates=None, synapse=0.1, duration=20.0, seed=0, dt=0.001,
                  memory_kwargs=None):
    """The delay task: 1 Hz white noise (rms 0.3) into a neural LMUMemory and
    an exact one, with probes on the decoded delays ``DELAYS`` (fractions of
    theta).

    Returns
    -------
    net : nengo.Network
        With attributes ``delay_probes`` (dict: "input", "neural", "exact") and
        ``memory``.
    """
    if neuron_type is None:
        neuron_type = nengo.SpikingRectifiedLinear()
    params = dict(theta=theta, order=order, n_neurons=n_neurons,
                  synapse=nengo.Lowpass(synapse), dt=dt, neuron_type=neuron_type,
                  input_rms=0.3, input_high=1.0)
    if max_rates is not None:
        params["max_rates"] = max_rates
    params.update(memory_kwargs or {})
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(
            period=duration, high=1.0, rms=0.3, y0=0, seed=seed), label="u")
        net.memory = LMUMemory(**params)
        exact = LMUMemory(theta, order, dt=dt)
        nengo.Connection(stim, net.memory.input, synapse=None)
        nengo.Connection(stim, exact.input, synapse=None)
        net.delay_probes = {
            "input": nengo.Probe(stim, synapse=None),
            "neural": nengo.Probe(net.memory.add_delay_output(DELAYS), synapse=0.01),
            "exact": nengo.Probe(exact.add_delay_output(DELAYS), synapse=0.01),
        }
    return net


def delay_nrmse(decoded, u, r, theta, dt):
    """NRMSE of a decoded ``u(t - r theta)`` against the ideal delayed input,
    both filtered by the probe synapse ``Lowpass(0.01)``."""
    shift = int(round(r * theta / dt))
    ideal = np.concatenate([np.zeros(shift), u[: len(u) - shift]])
    ideal = nengo.Lowpass(0.01).filt(ideal, dt=dt, y0=0)
    return np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))


def plot_delay(path, t, u, neural, theta, order, dt):
    """Input, ideal delayed input and spiking readout of ``u(t - theta)``, and
    the Legendre window basis, written to ``path`` (PNG)."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    shift = int(round(theta / dt))
    ideal = np.concatenate([np.zeros(shift), u[: len(u) - shift]])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6),
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(t, u, color="0.7", label="input u(t)")
    top.plot(t, neural, color="C3", label="spiking LMU readout")
    top.plot(t, ideal, "k--", lw=1, label=f"ideal u(t - {theta:g})")
    top.set_xlabel("time (s)")
    top.legend(loc="upper right", fontsize="small")
    top.set_title(f"Spiking LMU memory, theta = {theta:g} s, order {order}")
    r, basis = legendre_window_basis(order)
    bottom.plot(r * theta, basis)
    bottom.set_xlabel("delay (s)")
    bottom.set_ylabel("P_i(2r - 1)")
    bottom.set_title("Legendre window basis")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


BACKENDS = ("nengo", "dl", "loihi")


def _simulator(backend, net, dt, progress_bar):
    """The simulator of a backend: Nengo's, NengoDL's, or the Loihi emulator
    (after `nengo_lmu.loihi.check_loihi`, for a clear error before it starts)."""
    if backend == "dl":
        from nengo_lmu.dl import import_nengo_dl  # pylint: disable=C0415

        return import_nengo_dl().Simulator(net, dt=dt, progress_bar=progress_bar)
    if backend == "loihi":
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        loihi.check_loihi(net, dt=dt)
        import nengo_loihi  # pylint: disable=import-outside-toplevel

        return nengo_loihi.Simulator(net, dt=dt, target="sim",
                                     progress_bar=progress_bar)
    return nengo.Simulator(net, dt=dt, progress_bar=progress_bar)


def run_delay(backend="nengo", progress_bar=True, **kwargs):
    """Build and run the delay task on a backend ("nengo", "dl", "loihi").

    Returns
    -------
    result : dict
        ``t``, ``u``, ``neural`` and ``exact`` (decoded delays), ``nrmse``
        (per delay: neural and exact), ``seconds`` (simulation wall time).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    duration = kwargs.get("duration", 20.0)
    dt = kwargs.get("dt", 0.001)
    theta = kwargs.get("theta", 1.0)
    if backend == "loihi":
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        # the recurrence mapped onto the emulator's own loop filter
        kwargs["memory_kwargs"] = {
            **loihi.memory_kwargs(
                theta, kwargs.get("order", 6), n_neurons=kwargs.get("n_neurons", 100),
                tau=kwargs.get("synapse", 0.1), dt=dt,
                neuron_type=kwargs.get("neuron_type")),
            "input_rms": 0.3, "input_high": 1.0,
            **kwargs.get("memory_kwargs", {}),
        }
    net = delay_network(**kwargs)
    start = time.perf_counter()
    with _simulator(backend, net, dt, progress_bar) as sim:
        sim.run(duration)
        data = {k: sim.data[p] for k, p in net.delay_probes.items()}
        t = sim.trange()
    seconds = time.perf_counter() - start
    u = data["input"][:, 0]
    nrmse = {
        r: (delay_nrmse(data["neural"][:, i], u, r, theta, dt),
            delay_nrmse(data["exact"][:, i], u, r, theta, dt))
        for i, r in enumerate(DELAYS)
    }
    return dict(t=t, u=u, neural=data["neural"], exact=data["exact"], nrmse=nrmse,
                seconds=seconds)


# --- psMNIST ---------------------------------------------------------------------


def psmnist_network(order=256, theta=0.784, hidden_units=212, hidden_neuron_type=None,
                    hidden_recurrent=True, input_to_hidden=True, output_synapse=None,
                    seed=0, dt=0.001):
    """An LMU and a 10-class readout (logits at every step), as a network with
    attributes ``stim`` (input node), ``lmu``, ``probe`` (logits)."""
    with nengo.Network(seed=seed) as net:
        net.stim = nengo.Node(np.zeros(1), label="pixels")
        net.lmu = LMU(1, 1, order, theta, hidden_units=hidden_units,
                      hidden_neuron_type=hidden_neuron_type,
                      hidden_recurrent=hidden_recurrent,
                      input_to_hidden=input_to_hidden, output_synapse=output_synapse,
                      dt=dt, seed=seed)
        nengo.Connection(net.stim, net.lmu.input, synapse=None)
        logits = nengo.Node(size_in=10, label="logits")
        limit = np.sqrt(6 / (hidden_units + 10))
        nengo.Connection(net.lmu.output, logits, synapse=None,
                         transform=np.random.RandomState(seed).uniform(
                             -limit, limit, size=(10, hidden_units)))
        bias = nengo.Node(np.ones(1), label="one")
        nengo.Connection(bias, logits, transform=np.zeros((10, 1)), synapse=None)
        net.probe = nengo.Probe(logits, synapse=None)
    return net


def train_psmnist(net, train, test, epochs=1, learning_rate=1e-3, batch_size=100,
                  unroll=16, verbose=1, params_path=None):
    """Train ``net`` (from `psmnist_network`) with NengoDL on the last step's
    logits, evaluate it, and write its trained parameters into the network.

    Returns
    -------
    history : dict
        Keras's per-epoch ``loss`` and ``accuracy``, plus ``test_accuracy``.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.dl import configure_training, import_nengo_dl  # noqa: E402

    nengo_dl = import_nengo_dl()
    configure_training(net, keep_history=False)
    (x, y), (x_test, y_test) = train, test
    # NengoDL needs the unroll length to divide the sequence length
    unroll = max(d for d in range(1, unroll + 1) if x.shape[1] % d == 0)
    with nengo_dl.Simulator(net, minibatch_size=batch_size, unroll_simulation=unroll,
                            progress_bar=verbose > 0, seed=0) as sim:
        sim.compile(
            optimizer=tf.optimizers.Adam(learning_rate),
            loss={net.probe: tf.losses.SparseCategoricalCrossentropy(from_logits=True)},
            metrics={net.probe: tf.metrics.SparseCategoricalAccuracy(name="accuracy")},
        )
        fit = sim.fit({net.stim: x}, {net.probe: y}, epochs=epochs, verbose=verbose)
        history = {k.replace("probe_", ""): v for k, v in fit.history.items()}
        result = sim.evaluate({net.stim: x_test}, {net.probe: y_test}, verbose=0)
        history["test_accuracy"] = float(
            [v for k, v in result.items() if k.endswith("accuracy")][0])
        if params_path is not None:
            sim.save_params(os.fspath(params_path))
        sim.freeze_params(net)
    return history


def plot_training(path, history):
    """Training loss and accuracy per epoch (from `train_psmnist`), as a PNG."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

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
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_psmnist(net, test, batch_size=100, progress_bar=False):
    """Last-step accuracy of a (rate or spiking) psMNIST network in NengoDL."""
    from nengo_lmu.dl import import_nengo_dl  # pylint: disable=C0415

    nengo_dl = import_nengo_dl()
    x, y = test
    n = (len(x) // batch_size) * batch_size
    with nengo_dl.Simulator(net, minibatch_size=batch_size,
                            progress_bar=progress_bar) as sim:
        out = sim.predict({net.stim: x[:n]}, n_steps=x.shape[1])[net.probe]
    return float(np.mean(np.argmax(out[:, -1], axis=-1) == y[:n, 0, 0]))
