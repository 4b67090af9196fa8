"""The experiment kit: build, fit, predict and run sequence networks.

The recipe that every sequence experiment of the library follows, written
once; the tasks (`nengo_lmu.tasks.psmnist`, `nengo_lmu.tasks.mackey_glass`),
the examples and the benchmarks call these functions instead of writing it
out again.

Build
    `sequence_network` (an input Node, an LMU or any network, a readout and
    a probe), `glorot_uniform` (the readout's initial weight) and `chip_lmu`
    (an LMU whose every part runs on Loihi after
    `nengo_lmu.spiking.to_spiking`, its memory mapped for NengoDL or the chip).
Train and predict in NengoDL
    `fit` (`nengo_lmu.dl.configure_training`, compile, fit, write the trained
    weights back), `predict` (the last step or the whole sequence) and
    `classification_accuracy`.
Run
    `run_sequences` (each sequence from zero state on ``"nengo"``, ``"dl"`` or
    ``"loihi"``, the NengoLoihi emulator) and `copy_trained` (trained weights
    into a twin whose memory is mapped for another simulator).

A *sequence network* is a ``nengo.Network`` with ``stim`` (the input Node)
and ``probe`` (the output Probe); the data are NengoDL's arrays, ``x`` shaped
``(sequences, steps, dimensions)``, one value per step of ``dt``.

**Partial batches.** NengoDL runs batches of one fixed size, so whenever the
sequences are split into batches (`fit`, `predict`, `run_sequences` on
``"dl"``) the batch size is the largest divisor of the number of sequences not
above the one asked for (`batch_size_for`): every sequence is used once, none
is padded or dropped. Choose counts with a divisor near the batch size
(multiples of 10 or 100); a prime count runs one sequence per batch. The
unroll length follows the same rule against the number of steps.

NengoDL, TensorFlow and NengoLoihi are imported inside the functions that use
them.
"""

import copy
import os
import warnings

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._atomic import replaced_atomically
from nengo_lmu._validation import (
    check_choice,
    check_count,
    check_positive_finite,
)
from nengo_lmu.networks import LMU

#: Backends of `run_sequences`: Nengo's reference simulator, NengoDL and the
#: NengoLoihi emulator
BACKENDS = ("nengo", "dl", "loihi")

#: Losses `fit` knows by name (anything else is passed to Keras as it is)
LOSSES = ("crossentropy", "mse")

#: What `copy_trained` copies of each Ensemble outside a memory: the
#: parameters that ``nengo_dl.Simulator.freeze_params`` writes
ENSEMBLE_PARAMS = (
    "encoders",
    "normalize_encoders",
    "gain",
    "bias",
    "max_rates",
    "intercepts",
)


# --- building ---------------------------------------------------------------


def glorot_uniform(size_out, size_in, seed=0):
    """A ``(size_out, size_in)`` weight drawn uniformly from ``+-sqrt(6 /
    (size_in + size_out))`` (Glorot and Bengio, 2010; Keras's default
    ``Dense`` kernel, transposed), with ``numpy.random.RandomState(seed)``.

    Examples
    --------
    >>> w = glorot_uniform(10, 32, seed=0)
    >>> w.shape, bool(abs(w).max() <= np.sqrt(6 / 42))
    ((10, 32), True)
    """
    size_out = check_count(size_out, "size_out")
    size_in = check_count(size_in, "size_in")
    limit = np.sqrt(6 / (size_in + size_out))
    return np.random.RandomState(seed).uniform(-limit, limit, size=(size_out, size_in))


def sequence_network(
    model,
    size_out=None,
    readout="glorot",
    bias=True,
    seed=0,
    label=None,
    input_label="input",
    output_label="output",
):
    """A sequence network: an input Node into ``model``, a readout, a probe.

    Parameters
    ----------
    model : nengo.Network
        Anything with ``input`` and ``output`` objects: an `~nengo_lmu.LMU`, a
        network imported from Keras, ... It is added to the new network (so it
        must not be inside another one: create it outside any ``with`` block
        or with ``add_to_container=False``).
    size_out : int, optional
        Readout dimensions (required unless ``readout`` is None).
    readout : "glorot", "zeros", array_like, nengo.dists.Distribution or None
        The readout's initial weight from ``model.output``: `glorot_uniform`
        with ``seed`` (default), zeros, or a transform as Nengo takes it. None
        puts the probe on ``model.output`` itself (no readout).
    bias : bool, optional
        Add a constant input to the readout through a zero weight (a bias for
        training). Only with a readout.
    seed : int or None, optional
        Seed of the network (and of the Glorot draw).
    label, input_label, output_label : str, optional
        Labels of the network, the input Node and the readout Node.

    Returns
    -------
    net : nengo.Network
        With attributes ``stim`` (the input Node, zeros until given data),
        ``model`` (and ``lmu`` when ``model`` is an LMU), ``input_conn`` (from
        ``stim`` into the model), ``output`` (the readout Node, or
        ``model.output``) and ``probe`` (on ``output``, no synapse).

    Examples
    --------
    >>> from nengo_lmu import LMU
    >>> lmu = LMU(1, 1, 8, 0.1, hidden_units=16, add_to_container=False)
    >>> net = sequence_network(lmu, size_out=10)
    >>> net.probe.size_in, net.lmu is lmu
    (10, True)
    """
    for name in ("input", "output"):
        if not hasattr(model, name):
            raise ValidationError(
                f"must have an '{name}' (a Node or Ensemble): an LMU or a "
                f"network built like one; got {type(model).__name__}",
                attr="model",
            )
    if readout is not None:
        size_out = check_count(size_out, "size_out")
        size_in = model.output.size_out
        if isinstance(readout, str):
            check_choice(readout, ("glorot", "zeros"), "readout")
            readout = (
                glorot_uniform(size_out, size_in, seed=seed)
                if readout == "glorot"
                else np.zeros((size_out, size_in))
            )
    with nengo.Network(seed=seed, label=label) as net:
        net.stim = nengo.Node(np.zeros(model.input.size_in), label=input_label)
        net.add(model)
        net.model = model
        if isinstance(model, LMU):
            net.lmu = model
        net.input_conn = nengo.Connection(net.stim, model.input, synapse=None)
        if readout is None:
            net.output = model.output
        else:
            net.output = nengo.Node(size_in=size_out, label=output_label)
            nengo.Connection(model.output, net.output, synapse=None, transform=readout)
            if bias:
                one = nengo.Node(np.ones(1), label="one")
                nengo.Connection(
                    one, net.output, transform=np.zeros((size_out, 1)), synapse=None
                )
        net.probe = nengo.Probe(net.output, synapse=None)
    return net


def chip_lmu(
    theta,
    order,
    hidden_units,
    memory_neurons_per_dimension=None,
    target="nengo",
    tau=0.1,
    delay_steps=None,
    output_synapse=0.005,
    size_in=1,
    seed=0,
    dt=0.001,
    **memory,
):
    """An LMU that runs on Loihi after `~nengo_lmu.spiking.to_spiking`.

    Trained with rate neurons whose spiking twins the chip runs: rectified-linear
    hidden units reading the memory and the input (no hidden recurrence, no
    Node in any loop), the memory's input weight starting at 1, and a memory
    that is exact (a Node, for comparison) or neural, with rectified-linear
    rate neurons and the settings of `nengo_lmu.loihi.lmu_kwargs`.

    A neural memory's recurrence is mapped onto the filter of the simulator
    that will run it: ``target="nengo"`` (Nengo and NengoDL) onto
    ``Lowpass(tau)``, ``target="loihi"`` onto the chip's loop
    (`nengo_lmu.loihi.loop_synapse`). Both represent the same Legendre memory,
    so weights trained on the first carry over to the second
    (`copy_trained`).

    Parameters
    ----------
    theta : float
        Window length in seconds.
    order : int
        Legendre coefficients.
    hidden_units : int
        Rectified-linear hidden units.
    memory_neurons_per_dimension : int, optional
        Neurons per memory dimension; None (default) gives the exact memory.
    target : "nengo" or "loihi"
        Which simulator's filter the neural memory's recurrence is mapped for.
    tau : float, optional
        The neural memory's recurrent Lowpass time constant (default 0.1 s,
        `nengo_lmu.loihi.memory_kwargs`'s; 0.02 s for a short window of white
        input such as psMNIST's pixels, see the guide).
    delay_steps : int, optional
        The chip loop's extra delay (``target="loihi"`` only); default
        `nengo_lmu.loihi.DEFAULT_DELAY_STEPS`.
    output_synapse : float or nengo.synapses.Synapse, optional
        Synapse from the hidden units to ``output``, in place during training
        so that training learns its lag.
    size_in : int, optional
        Input dimensions.
    seed : int, optional
        The LMU's seed.
    dt : float, optional
        Simulator time step.
    **memory
        Further neural-memory settings for `nengo_lmu.loihi.memory_kwargs`
        (``input_rms``, ``input_high``, ``max_rates``,
        ``ensemble_dimensions``, ...).

    Returns
    -------
    lmu : nengo_lmu.LMU
        Not inside any network (for `sequence_network`).

    Examples
    --------
    >>> lmu = chip_lmu(0.1, 6, 32, memory_neurons_per_dimension=50, tau=0.02)
    >>> net = sequence_network(lmu, size_out=10)
    """
    check_choice(target, ("nengo", "loihi"), "target")
    kwargs = {}
    if memory_neurons_per_dimension is not None:
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        tau = check_positive_finite(tau, "tau")
        if target == "loihi":
            if delay_steps is not None:
                memory["delay_steps"] = delay_steps
        else:
            memory["mapping_synapse"] = nengo.Lowpass(tau)
        kwargs = loihi.lmu_kwargs(
            theta,
            order,
            memory_neurons_per_dimension,  # by position: the name is changing
            neuron_type=nengo.RectifiedLinear(),
            tau=tau,
            dt=dt,
            **memory,
        )
    elif memory:
        raise ValidationError(
            f"neural-memory settings {sorted(memory)} need "
            "memory_neurons_per_dimension (None is the exact memory)",
            attr="memory_neurons_per_dimension",
        )
    return LMU(
        size_in,
        1,
        order,
        theta,
        hidden_units=hidden_units,
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_recurrent=False,
        input_to_hidden=True,
        output_synapse=output_synapse,
        kernel_initializer=np.ones((size_in, 1)),
        dt=dt,
        seed=seed,
        add_to_container=False,
        **kwargs,
    )


# --- NengoDL ----------------------------------------------------------------


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


# --- running on a backend ---------------------------------------------------


def run_sequences(
    net,
    x,
    backend="nengo",
    probes=None,
    last=False,
    batch_size=50,
    dt=0.001,
    progress_bar=False,
):
    """Run each sequence of ``x`` through ``net`` from zero state on a backend.

    ``"nengo"``: one ``nengo.Simulator`` (on a copy of ``net`` whose input
    reads the current sequence), reset before each sequence. ``"dl"``:
    NengoDL's ``predict`` in minibatches (`batch_size_for`). ``"loihi"``: the
    NengoLoihi emulator (``target="sim"``), which cannot reset its state
    (``Simulator.reset`` is not implemented in NengoLoihi 1.1): each sequence
    runs in its own copy of ``net``, at most ``batch_size`` copies side by
    side in one emulator run. Its notes on ignored settings are silenced;
    check the network first with `nengo_lmu.loihi.check_loihi`.

    Parameters
    ----------
    net : nengo.Network
        A sequence network (``stim`` and ``probe``).
    x : array_like (sequences, steps, dims)
        One value per step of ``dt``.
    backend : "nengo", "dl" or "loihi"
    probes : nengo.Probe or list of nengo.Probe, optional
        Probes of ``net`` to read (default ``net.probe``).
    last : bool
        Return the last step only.
    batch_size : int
        Minibatch (``"dl"``) or copies per emulator run (``"loihi"``).
    dt : float
    progress_bar : bool

    Returns
    -------
    out : ndarray or list of ndarray
        Per probe, ``(sequences, steps, d)`` (``(sequences, d)`` with
        ``last``); a list when ``probes`` is a list.

    Examples
    --------
    >>> out = run_sequences(net, x, backend="nengo")  # doctest: +SKIP
    """
    check_choice(backend, BACKENDS, "backend")
    stim, probe = _sequence_parts(net)
    x = _sequences(x)
    batch_size = check_count(batch_size, "batch_size")
    dt = check_positive_finite(dt, "dt")
    single = probes is None or isinstance(probes, nengo.Probe)
    probes = [probe if probes is None else probes] if single else list(probes)
    index = {p: i for i, p in enumerate(net.all_probes)}
    for p in probes:
        if p not in index:
            raise ValidationError(f"{p} is not a probe of net", attr="probes")
    if backend == "dl":
        out = _predict(net, x, probes, batch_size, dt, progress_bar)
    else:
        run = _run_nengo if backend == "nengo" else _run_loihi
        out = run(net, x, [index[p] for p in probes], dt, batch_size, progress_bar)
    out = [np.asarray(o)[:, -1] if last else np.asarray(o) for o in out]
    return out[0] if single else out


def _run_nengo(net, x, probe_index, dt, batch_size, progress_bar):
    """Every sequence in one reference simulator, reset before each."""
    current = [x[0]]

    def sequence(t):
        step = min(max(int(round(t / dt)) - 1, 0), len(current[0]) - 1)
        return current[0][step]

    model = copy.deepcopy(net)
    model.stim.output = sequence
    probes = [model.all_probes[i] for i in probe_index]
    out = [[] for _ in probes]
    with nengo.Simulator(model, dt=dt, progress_bar=progress_bar) as sim:
        for seq in x:
            current[0] = seq
            sim.reset()
            sim.run_steps(len(seq))
            for data, p in zip(out, probes):
                data.append(np.array(sim.data[p]))
    return out


def _run_loihi(net, x, probe_index, dt, batch_size, progress_bar):
    """Each sequence in its own copy of ``net``, ``batch_size`` copies side by
    side in one emulator run: every sequence starts from zero state."""
    import nengo_loihi  # pylint: disable=import-outside-toplevel

    out = [[] for _ in probe_index]
    for start in range(0, len(x), batch_size):
        parent = nengo.Network(seed=0, add_to_container=False)
        copies = []
        for seq in x[start : start + batch_size]:
            c = copy.deepcopy(net)
            c.stim.output = nengo.processes.PresentInput(seq, presentation_time=dt)
            parent.networks.append(c)
            copies.append(c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NengoLoihi's notes on ignored settings
            with nengo_loihi.Simulator(
                parent, dt=dt, target="sim", progress_bar=progress_bar
            ) as sim:
                sim.run_steps(x.shape[1])
        for c in copies:
            for data, i in zip(out, probe_index):
                data.append(np.array(sim.data[c.all_probes[i]]))
    return out


def copy_trained(src, dst):
    """Copy the trained weights of ``src`` into ``dst``, a twin built the same
    way whose LMU memories may differ (mapped for another simulator, exact or
    neural).

    Every Connection and Ensemble outside the LMUs' memories is paired, in
    order, with its twin in ``dst``; each Connection's ``transform`` (and
    ``solver`` and ``function``, for connections decoded from an Ensemble)
    and each Ensemble's `ENSEMBLE_PARAMS` (what NengoDL's ``freeze_params``
    writes) are copied. The memories (fixed in training) are left as
    ``dst`` built them.

    Returns
    -------
    dst : nengo.Network

    Raises
    ------
    ValidationError
        If the two networks' objects outside the memories do not pair up
        (other counts, other pre/post objects or other shapes).

    Examples
    --------
    >>> chip = copy_trained(trained, build(target="loihi"))  # doctest: +SKIP
    """
    src_conns, src_ens = _outside_memories(src)
    dst_conns, dst_ens = _outside_memories(dst)
    if len(src_conns) != len(dst_conns) or len(src_ens) != len(dst_ens):
        raise ValidationError(
            f"has {len(dst_conns)} connections and {len(dst_ens)} ensembles "
            f"outside its memories, src {len(src_conns)} and {len(src_ens)}: "
            "not built the same way",
            attr="dst",
        )
    for a, b in zip(src_conns, dst_conns):
        same = (
            _endpoint(a.pre) == _endpoint(b.pre)
            and _endpoint(a.post) == _endpoint(b.post)
            and a.size_in == b.size_in
            and a.size_out == b.size_out
        )
        if not same:
            raise ValidationError(
                f"{b} does not match {a} of src: not built the same way", attr="dst"
            )
        if isinstance(a.pre_obj, nengo.Ensemble):
            b.function = a.function
            b.solver = a.solver
        b.transform = a.transform
    for a, b in zip(src_ens, dst_ens):
        if a.n_neurons != b.n_neurons or a.dimensions != b.dimensions:
            raise ValidationError(
                f"{b} does not match {a} of src: not built the same way", attr="dst"
            )
        for name in ENSEMBLE_PARAMS:
            setattr(b, name, getattr(a, name))
    return dst


def _endpoint(obj):
    """What a connection's end is, without its address: type and label."""
    obj = getattr(obj, "obj", obj)  # a slice's object
    return type(obj).__name__, getattr(obj, "ensemble", obj).label


def _outside_memories(net):
    """Connections and Ensembles of ``net`` that are not in an LMU memory."""
    memories = [n.memory for n in [net] + net.all_networks if isinstance(n, LMU)]
    conns = {c for m in memories for c in m.all_connections}
    ens = {e for m in memories for e in m.all_ensembles}
    return (
        [c for c in net.all_connections if c not in conns],
        [e for e in net.all_ensembles if e not in ens],
    )


__all__ = [
    "BACKENDS",
    "ENSEMBLE_PARAMS",
    "LOSSES",
    "batch_size_for",
    "chip_lmu",
    "classification_accuracy",
    "copy_trained",
    "fit",
    "glorot_uniform",
    "predict",
    "run_sequences",
    "sequence_network",
]
