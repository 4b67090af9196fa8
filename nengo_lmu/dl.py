"""Training LMU networks with NengoDL, and running them spiking afterwards.

These helpers sit beside NengoDL rather than wrapping it: build your network,
call `configure_training` inside it, then use ``nengo_dl.Simulator``,
``compile``, ``fit`` and ``evaluate`` as usual; ``sim.freeze_params(net)``
writes the trained weights back, and `to_spiking` gives the spiking network.

NengoDL and TensorFlow are imported only when these functions run.
"""

import copy

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite, coerce_synapse
from nengo_lmu.networks.dropout import SequenceDropout
from nengo_lmu.networks.lmu import DRAWN_SEED_LIMIT

#: Rate neuron types and their spiking twins (same rate function).
SPIKING_TWINS = {
    nengo.RectifiedLinear: lambda n: nengo.SpikingRectifiedLinear(
        amplitude=n.amplitude, initial_state=n.initial_state
    ),
    nengo.LIFRate: lambda n: nengo.LIF(
        tau_rc=n.tau_rc,
        tau_ref=n.tau_ref,
        amplitude=n.amplitude,
        min_voltage=0,
    ),
}


def quiet_tensorflow():
    """Keep TensorFlow's C++ info and debug lines (such as "Executor start
    aborting") off stderr: sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user
    set it, which TensorFlow reads when it is first imported."""
    import os  # pylint: disable=import-outside-toplevel

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# before anything here imports TensorFlow, which reads the level once
quiet_tensorflow()


def import_nengo_dl():
    """Import NengoDL, or say clearly which extra installs it."""
    try:
        import nengo_dl  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError(
            "NengoDL is needed for this; install the `dl` extra: "
            'pip install -c constraints.txt -e ".[dl]"'
        ) from err
    return nengo_dl


def _lmus(network):
    from nengo_lmu.networks.lmu import LMU  # pylint: disable=import-outside-toplevel

    return [n for n in [network] + list(network.all_networks) if isinstance(n, LMU)]


def configure_training(
    network,
    train_memory=False,
    stateful=False,
    keep_history=False,
    fixed=(),
    **settings,
):
    """Set NengoDL's options for training sequences on ``network``.

    Call it on the top-level network (it enters ``with network:`` itself).

    * Every `~nengo_lmu.LMU` memory's own connections (``Abar``, ``Bbar``,
      or a neural memory's ensembles and decoders) are fixed unless
      ``train_memory``; a trainable theta (Euler) stays trainable.
    * ``stateful=False``: every sequence (minibatch) starts from zero state,
      as Keras's RNN layers do.
    * ``keep_history``: False keeps only the last step's probe value, what a
      last-step task (psMNIST) trains on; True keeps every step.
    * ``fixed``: names of LMU weights that training leaves alone on every
      `~nengo_lmu.LMU` in ``network``, from `lmu_weights`' keys (``"kernel"``,
      ``"recurrent_kernel"``, ``"bias"``, ``"hidden_kernel"``,
      ``"hidden_recurrent_kernel"``, ``"hidden_bias"``, ``"theta"``): the
      LMU paper cell's per-weight trainability, by whole weight (its input
      and hidden encoders are ``"kernel"``, its hidden kernel
      ``"hidden_recurrent_kernel"``; see the guide). Names an LMU does not
      have are ignored; unknown names raise an error.

    * Probes without a seed get one that no connection can be assigned
      (see `~nengo_lmu.networks.lmu.protect_from_probe_seeds`): NengoDL
      makes any connection whose seed equals a probe's untrainable, which
      happens silently when a subnetwork has the same seed as its parent.
      Only probes of Nodes, Neurons and Connections, whose seed is unused.

    * ``planner``: NengoDL's ``noop_planner`` unless given. NengoDL's default
      (tree) planner merges operators in a way that makes the LMU's long
      unrolled recurrence about four times slower to train (benchmark B2).
    * ``simplifications``: NengoDL's defaults plus
      `nengo_lmu.dl_fusion.fuse_dot_copies` unless given (one operator
      instead of two per connection; 7-19% less CPU time per training step
      of a small LMU, benchmark B2).

    Further keyword arguments go to ``nengo_dl.configure_settings``.
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    nengo_dl = import_nengo_dl()
    settings.setdefault("planner", nengo_dl.graph_optimizer.noop_planner)
    if "simplifications" not in settings:
        from nengo_lmu.dl_fusion import (  # pylint: disable=import-outside-toplevel
            fuse_dot_copies,
        )

        settings["simplifications"] = (
            nengo_dl.graph_optimizer.default_simplifications + (fuse_dot_copies,)
        )
    with network:
        nengo_dl.configure_settings(
            trainable=None, stateful=stateful, keep_history=keep_history, **settings
        )
    for i, probe in enumerate(network.all_probes):
        target = getattr(probe.target, "obj", probe.target)  # a slice's object
        if probe.seed is None and not isinstance(target, nengo.Ensemble):
            probe.seed = DRAWN_SEED_LIMIT + i
    fixed = _check_fixed(fixed)
    for lmu in _lmus(network):
        _fix_weights(network, lmu, fixed)
        for conn in lmu.memory.all_connections:
            network.config[conn].trainable = bool(train_memory)
        for ens in lmu.memory.all_ensembles:
            network.config[ens].trainable = bool(train_memory)
        if lmu.theta_connection is not None:
            network.config[lmu.theta_connection].trainable = "theta" not in fixed
        if lmu.theta_layer is not None:
            lmu.theta_layer.trainable = "theta" not in fixed
        if lmu.hidden is not None:
            # the hidden state is driven through .neurons: its encoders are
            # unused, its biases are the cell's b_h
            network.config[lmu.hidden].trainable = False
            network.config[lmu.hidden.neurons].trainable = "hidden_bias" not in fixed
    return network


def _check_fixed(fixed):
    if isinstance(fixed, str):
        fixed = [fixed]
    try:
        fixed = set(fixed)
    except TypeError:
        raise ValidationError(
            f"must be a list of weight names, got {fixed!r}", attr="fixed"
        ) from None
    unknown = sorted(str(name) for name in fixed - set(KERAS_WEIGHT_NAMES))
    if unknown:
        raise ValidationError(
            f"unknown weight names {unknown}; use {sorted(KERAS_WEIGHT_NAMES)}",
            attr="fixed",
        )
    return fixed


def _fix_weights(network, lmu, fixed):
    for name, conns in lmu.weight_connections.items():
        for conn in conns:
            network.config[conn].trainable = name not in fixed


#: `lmu_weights` keys and the KerasLMU 0.8 variables they equal.
KERAS_WEIGHT_NAMES = {
    "kernel": "LMUCell.kernel",
    "recurrent_kernel": "LMUCell.recurrent_kernel",
    "bias": "LMUCell.bias",
    "hidden_kernel": "hidden_cell.kernel",
    "hidden_recurrent_kernel": "hidden_cell.recurrent_kernel (SimpleRNNCell)",
    "hidden_bias": "hidden_cell.bias",
    "theta": "LMUCell.theta * dt (1 / theta_inv when trainable)",
}


def lmu_weights(sim, lmu):
    """The current (trained) weights of ``lmu`` in a NengoDL simulator.

    Returned in KerasLMU 0.8's shapes, so they can be assigned to a
    ``keras_lmu.LMUCell`` of the same options, or passed back to
    `~nengo_lmu.LMU` as initializers:

    ===========================  ================================
    key                          KerasLMU 0.8 variable (shape)
    ===========================  ================================
    ``kernel``                   ``LMUCell.kernel``
                                 ``(input_d [+ units], memory_d)``
    ``recurrent_kernel``         ``LMUCell.recurrent_kernel``
                                 ``(memory_d * order, memory_d)``
    ``bias``                     ``LMUCell.bias`` ``(memory_d,)``
    ``hidden_kernel``            ``hidden_cell.kernel``
                                 ``(memory_d * order [+ input_d], units)``
    ``hidden_recurrent_kernel``  ``hidden_cell.recurrent_kernel``
                                 ``(units, units)``
    ``hidden_bias``              ``hidden_cell.bias`` ``(units,)``
    ``theta``                    ``LMUCell.theta`` times ``dt``, seconds
    ===========================  ================================

    Keys of weights the LMU does not have (no memory-to-memory weights, no
    hidden cell, ...) are absent. ``theta`` is the trained value when it is
    trainable (KerasLMU's ``1 / theta_inv`` steps, here in seconds).

    Parameters
    ----------
    sim : nengo_dl.Simulator
        A simulator built from a network holding ``lmu`` (still open).
    lmu : nengo_lmu.LMU

    Returns
    -------
    weights : dict of str to ndarray or float

    Examples
    --------
    >>> with nengo_dl.Simulator(net) as sim:  # doctest: +SKIP
    ...     sim.fit(x, y)
    ...     trained = lmu_weights(sim, net.lmu)
    >>> keras_cell.kernel.assign(trained["kernel"])  # doctest: +SKIP
    """
    from nengo_lmu.networks.lmu import LMU  # pylint: disable=import-outside-toplevel

    if not isinstance(lmu, LMU):
        raise ValidationError(
            f"must be a nengo_lmu.LMU, got {type(lmu).__name__}", attr="lmu"
        )
    if lmu not in _lmus(sim.model.toplevel):
        raise ValidationError(
            "this LMU is not part of the simulator's network", attr="lmu"
        )
    conns = [c for parts in lmu.weight_connections.values() for c in parts]
    values = dict(zip(conns, sim.data.get_params(*[(c, "weights") for c in conns])))
    weights = {
        name: np.concatenate([np.asarray(values[c]).T for c in parts], axis=0)
        for name, parts in lmu.weight_connections.items()
    }
    if "bias" in weights:
        weights["bias"] = weights["bias"][0]
    if lmu.hidden is not None:
        weights["hidden_bias"] = np.array(sim.data.get_params((lmu.hidden, "bias"))[0])
    weights["theta"] = lmu_theta(sim, lmu)
    return weights


def add_regularization(sim):
    """Add every `~nengo_lmu.LMU`'s regularizers to ``sim``'s training loss.

    ``LMU(..., kernel_regularizer=..., recurrent_regularizer=...,
    bias_regularizer=...)`` penalise the weights as KerasLMU does: the
    penalty of each weight (in KerasLMU's shape, see `lmu_weights`) is added
    to the loss that ``sim.fit`` minimises (and that ``sim.evaluate``
    reports). Call it once, after creating the simulator and before
    ``sim.fit``.

    Parameters
    ----------
    sim : nengo_dl.Simulator

    Returns
    -------
    n : int
        The number of penalties added.

    Examples
    --------
    >>> with nengo_dl.Simulator(net) as sim:  # doctest: +SKIP
    ...     add_regularization(sim)
    ...     sim.compile(optimizer=tf.optimizers.SGD(0.1), loss=tf.losses.mse)
    ...     sim.fit(x, y)
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    n = 0
    for lmu in _lmus(sim.model.toplevel):
        for name, reg in lmu.regularizers.items():
            conns = lmu.weight_connections[name]

            def penalty(conns=conns, reg=reg, bias=name == "bias"):
                weight = tf.concat(
                    [tf.transpose(_live_weights(sim, c)) for c in conns], axis=0
                )
                return reg(weight[0] if bias else weight)

            sim.keras_model.add_loss(penalty)
            n += 1
    return n


def _live_weights(sim, conn):
    """The trainable variable's slice holding ``conn``'s weights (a tensor in
    the current graph, so that gradients reach the variable)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    graph = sim.tensor_graph
    tensor_sig = graph.signals[sim.model.sig[conn]["weights"]]
    base = graph.base_params[tensor_sig.key]
    rows = np.concatenate(
        [np.arange(start, stop) for start, stop in tensor_sig.slices]
    ).astype(np.int32)
    return tf.reshape(tf.gather(base, tf.constant(rows)), tensor_sig.shape)


def lmu_theta(sim, lmu):
    """``lmu``'s theta in seconds: the trained value when it is trainable."""
    if lmu.theta_connection is not None:
        gain = float(
            np.squeeze(sim.data.get_params((lmu.theta_connection, "weights"))[0])
        )
        return lmu.dt / gain
    if lmu.theta_layer is not None:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return lmu.dt / float(tf.keras.backend.get_value(lmu.theta_layer.theta_inv))
    return lmu.theta


def load_params(sim, path, include_state=False):
    """Load parameters written by ``sim.save_params(path)`` into ``sim``, or
    nothing at all.

    Like ``nengo_dl.Simulator.load_params``, but every variable's shape is
    checked before any is assigned, so a file written by a network of another
    shape is refused with an error naming the mismatches, and the simulator
    keeps its parameters (NengoDL's own method assigns variable by variable
    and stops at the first mismatch).

    Parameters
    ----------
    sim : nengo_dl.Simulator
    path : str or path-like
        As given to ``save_params`` (``.npz`` is added if missing).
    include_state : bool
        Also load the simulator state, if it was saved.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    path = str(path)
    file = path if path.endswith(".npz") else path + ".npz"
    params = list(sim.keras_model.weights)
    if include_state:
        params.extend(sim.tensor_graph.saved_state.values())
    try:
        with np.load(file, allow_pickle=False) as data:
            values = [np.asarray(data[f"arr_{i}"]) for i in range(len(data.files))]
    except Exception as err:  # noqa: BLE001 -- numpy, zipfile, zlib raise many kinds
        # only the file is read in this block: any error is the file's
        raise ValidationError(
            f"cannot read NengoDL parameters from {file}: a damaged or foreign file "
            f"({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            attr="path",
        ) from None
    bad = [
        i
        for i, value in enumerate(values)
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value))
    ]
    if bad:
        raise ValidationError(
            f"{file}: variable(s) {bad} are not finite numbers: a damaged or foreign "
            "file; nothing was loaded",
            attr="path",
        )
    if len(values) != len(params):
        raise ValidationError(
            f"{file} holds {len(values)} variables, this simulator has "
            f"{len(params)}: it was written by a different network; nothing "
            "was loaded",
            attr="path",
        )
    mismatched = [
        f"variable {i} ({param.name}): {tuple(param.shape)} here, "
        f"{value.shape} in the file"
        for i, (param, value) in enumerate(zip(params, values))
        if tuple(param.shape) != value.shape
    ]
    if mismatched:
        raise ValidationError(
            f"{file} was written by a network of another shape; nothing was "
            "loaded. " + "; ".join(mismatched),
            attr="path",
        )
    tf.keras.backend.batch_set_value(list(zip(params, values)))


#: The tanh pair (see `to_spiking`): each half is ``nengo.LIF`` with
#: ``tau_ref = TANH_PAIR_REF_RATIO * tau_rc`` driven by
#: ``J = TANH_PAIR_GAIN * (+-x) + TANH_PAIR_BIAS``, and the pair's output,
#: ``TANH_PAIR_AMPLITUDE * tau_rc * (rate_on - rate_off)``, approximates
#: ``tanh(x)``. Both halves fire at rest (0.34 of the saturation rate
#: ``1 / tau_ref``), so the difference passes smoothly through zero. The gain
#: and bias are the least-squares fit of that output to ``tanh`` over ``x``
#: in [-6, 6] weighted by a normal density of standard deviation 1.5 (RMS
#: error 0.038; largest error 0.10 for ``|x| <= 4``; 11% relative error for
#: ``|x| < 0.5``). A pair whose halves are silent at rest fits large ``x``
#: about as well (RMS 0.037) but has a dead zone around zero where the output
#: is 0 (measured to lose 28% of a small-input LMU's hidden signal).
TANH_PAIR_GAIN = 6.46666
TANH_PAIR_BIAS = 5.64150
TANH_PAIR_AMPLITUDE = 0.145230
TANH_PAIR_REF_RATIO = 0.1


def spiking_twin(neuron_type):
    """The spiking neuron type with the same rate function as ``neuron_type``.

    A spiking type is returned as it is; NengoDL's ``SoftLIFRate`` becomes
    ``nengo.LIF``. Raises a ValidationError for rate types without a
    one-neuron twin: ``nengo.Sigmoid``, and ``nengo.Tanh``, whose negative half
    no spike can carry (`to_spiking` turns each tanh unit into a pair of LIF
    neurons instead, see `tanh_pair_neuron`).
    """
    if neuron_type.spiking:
        return neuron_type
    for rate_type, make in SPIKING_TWINS.items():
        if type(neuron_type) is rate_type:
            return make(neuron_type)
    if type(neuron_type).__name__ == "SoftLIFRate":
        return nengo.LIF(
            tau_rc=neuron_type.tau_rc,
            tau_ref=neuron_type.tau_ref,
            amplitude=neuron_type.amplitude,
        )
    hint = (
        " (to_spiking turns tanh units into pairs of LIF neurons)"
        if isinstance(neuron_type, nengo.Tanh)
        else ""
    )
    raise ValidationError(
        f"{type(neuron_type).__name__} has no one-neuron spiking twin{hint}; "
        "train with one of nengo.RectifiedLinear, nengo.LIFRate, "
        "nengo_dl.SoftLIFRate or nengo.Tanh",
        attr="neuron_type",
    )


def tanh_pair_neuron(max_rate=500.0, tau_ref=1.0):
    """The spiking neuron of each half of a tanh pair.

    A ``nengo.LIF`` with ``tau_ref = 1 / max_rate`` (the rate it saturates
    at), ``tau_rc = 10 tau_ref``, ``min_voltage=0`` and an amplitude such that
    the pair's output ``on - off`` approximates ``tanh(x) / tau_ref`` (the rate
    of ``nengo.Tanh(tau_ref)``) when its two neurons get the currents
    ``TANH_PAIR_GAIN * (+-x) + TANH_PAIR_BIAS``. LIF runs on Loihi; the default
    500 Hz stays below one spike per millisecond step.

    Parameters
    ----------
    max_rate : float
        Saturation rate in Hz (each neuron fires at ``0.34 max_rate`` at
        rest and below ``0.82 max_rate`` for ``|x| <= 6``).
    tau_ref : float
        The ``tau_ref`` of the ``nengo.Tanh`` being replaced (1 in the LMU).

    Returns
    -------
    neuron_type : nengo.LIF

    Examples
    --------
    >>> lif = tanh_pair_neuron(500.0)
    >>> x = np.array([0.5])
    >>> j = TANH_PAIR_GAIN * np.array([x, -x]).ravel() + TANH_PAIR_BIAS
    >>> on, off = lif.rates(j, 1.0, 0.0).ravel() * lif.amplitude
    >>> abs(on - off - np.tanh(0.5)) < 0.05
    True
    """
    max_rate = check_positive_finite(max_rate, "max_rate")
    ref = 1.0 / max_rate
    tau_rc = ref / TANH_PAIR_REF_RATIO
    return nengo.LIF(
        tau_rc=tau_rc,
        tau_ref=ref,
        min_voltage=0,
        amplitude=TANH_PAIR_AMPLITUDE * tau_rc / tau_ref,
        initial_state={"voltage": nengo.dists.Choice([0])},
    )


def to_spiking(network, synapse=0.005, rate_scale=1.0, tanh_max_rate=500.0):
    """A copy of ``network`` with every rate neuron type swapped for its spiking
    twin, and a synapse on each connection out of those neurons.

    Spiking neurons emit impulses of height ``1/dt``; filtering them with
    ``synapse`` (a float time constant or any Nengo synapse) on every
    outgoing connection approximates the rates the network was trained on
    (connections with ``synapse=None`` or ``0`` get it). Probes on the
    neurons keep their own synapse.

    ``rate_scale`` multiplies the firing rates of rectified-linear neurons
    driven through ``.neurons`` (trained units, such as the LMU's hidden
    state) without changing what they compute: their input (bias and every
    connection into ``.neurons``) is multiplied by ``rate_scale`` and their
    amplitude divided by it, which a rectified-linear rate function passes
    through exactly. More spikes per second carry the same values with less
    spike noise. Ensembles with a decoded input (a neural memory's) keep the
    rates their ``max_rates`` give them. On Loihi no neuron fires more than
    once per step: keep ``rate_scale`` such that the trained units stay
    below that (see ``docs/guide/training_to_loihi.rst``).

    **Tanh units** (``nengo.Tanh``, the LMU's default and KerasLMU's) become
    *pairs* of spiking LIF neurons: an ``on`` neuron driven by the unit's input
    ``x`` and an ``off`` neuron driven by ``-x``, both firing at rest, whose
    outputs are added with opposite signs on every outgoing connection. A
    LIF neuron's rate saturates at ``1 / tau_ref``, so the difference is an
    odd, saturating function that
    approximates ``tanh(x)`` within an RMS error of 0.038 for ``x`` of
    standard deviation 1.5 (see `TANH_PAIR_GAIN` and `tanh_pair_neuron`). Each
    tanh ensemble of ``n`` units is replaced by an ensemble of ``2 n`` LIF
    neurons (``on`` first, then ``off``) with the same label; connections into
    or out of its ``.neurons`` are rebuilt with doubled transforms, probes on
    them record the ``2 n`` neurons, and attributes of the copied networks that
    pointed at the old ensemble (such as ``lmu.hidden``) point at the new one.
    Its only connections must be to and from ``.neurons`` (as in the LMU and
    the Keras importers). LIF runs on Loihi.

    **Dropout Nodes** (an LMU's ``dropout`` and ``recurrent_dropout``, which
    copy their input outside training) are removed: what fed them connects
    straight to what they fed, so no Node is left inside the LMU's loops.

    Parameters
    ----------
    network : nengo.Network
        Usually the trained network (after ``sim.freeze_params(network)``).
    synapse : float or nengo.synapses.Synapse
        Synapse of the connections out of the swapped ensembles.
    rate_scale : float
        Rate multiplier for rectified-linear neurons (above).
    tanh_max_rate : float
        Saturation rate of the tanh pairs' LIF neurons in Hz (default 500:
        below one spike per step at ``dt = 0.001``, as on Loihi). Higher rates
        give less spike noise.

    Returns
    -------
    spiking : nengo.Network
        A deep copy (attributes of the networks, such as ``lmu.output``, are
        copied along and point at the copy's objects).

    Examples
    --------
    >>> with nengo.Network(seed=0) as net:
    ...     lmu = LMU(1, 1, order=4, theta=0.1, hidden_units=10)
    >>> spiking = to_spiking(net, synapse=0.005)
    >>> spiking.all_ensembles[0].n_neurons   # 10 tanh units, 20 LIF neurons
    20
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    synapse = coerce_synapse(synapse, "synapse")
    rate_scale = check_positive_finite(rate_scale, "rate_scale")
    tanh_max_rate = check_positive_finite(tanh_max_rate, "tanh_max_rate")
    # check everything first, so that nothing is half-converted
    swapped, tanh = {}, []
    for ens in network.all_ensembles:
        if isinstance(ens.neuron_type, nengo.Tanh):
            _check_tanh_ensemble(network, ens)
            tanh.append(ens)
        elif not ens.neuron_type.spiking:
            swapped[ens] = spiking_twin(ens.neuron_type)
    spiking = copy.deepcopy(network)
    _remove_dropout(spiking)
    spiking_ensembles = set()
    copies = dict(zip(network.all_ensembles, spiking.all_ensembles))
    for old, new in copies.items():
        if old in swapped:
            new.neuron_type = swapped[old]
            spiking_ensembles.add(new)
    if rate_scale != 1.0:
        decoded = {
            conn.post_obj
            for conn in spiking.all_connections
            if isinstance(conn.post_obj, nengo.Ensemble)
        }
        _scale_rates(spiking, spiking_ensembles - decoded, rate_scale)
    pairs = {_tanh_pair(spiking, copies[ens], tanh_max_rate) for ens in tanh}
    for conn in spiking.all_connections:
        pre = getattr(conn.pre_obj, "ensemble", conn.pre_obj)
        if (pre in spiking_ensembles or pre in pairs) and (
            conn.synapse is None or _is_zero_lowpass(conn.synapse)
        ):
            conn.synapse = synapse
    return spiking


def _remove_dropout(network):
    """Connect around every `SequenceDropout` Node of ``network``.

    Each is fed by one Connection without synapse or transform (as `LMU`
    builds them); each Connection out of it is rebuilt from that source.
    """
    networks = [network] + network.all_networks
    replaced = {}
    for net in networks:
        for node in [n for n in net.nodes if isinstance(n.output, SequenceDropout)]:
            into = [c for c in network.all_connections if c.post_obj is node]
            if (
                len(into) != 1
                or into[0].synapse is not None
                or (not isinstance(into[0].transform, nengo.transforms.NoTransform))
            ):
                node.output = None  # a passthrough Node, which NengoLoihi removes
                continue
            source = into[0].pre
            for conn in [c for c in network.all_connections if c.pre_obj is node]:
                owner = next(n for n in networks if conn in n.connections)
                with owner:
                    new = nengo.Connection(
                        source,
                        conn.post,
                        transform=conn.transform,
                        synapse=conn.synapse,
                        function=conn.function,
                        seed=conn.seed,
                        label=conn.label,
                    )
                _put_in_place(owner.connections, conn, new)
                replaced[conn] = new
            next(n for n in networks if into[0] in n.connections).connections.remove(
                into[0]
            )
            net.nodes.remove(node)
            replaced[node] = None
    for net in networks:
        _replace_references(net, replaced)
        if isinstance(getattr(net, "dropout_nodes", None), dict):
            net.dropout_nodes = {}


def _check_tanh_ensemble(network, ens):
    """Refuse a tanh ensemble that `_tanh_pair` cannot rebuild exactly."""
    for attr in ("gain", "bias"):
        if not isinstance(getattr(ens, attr), np.ndarray):
            raise ValidationError(
                f"{ens} needs explicit {attr}s (an array) to become tanh pairs",
                attr=attr,
                obj=ens,
            )
    for conn in network.all_connections:
        for end in (conn.pre, conn.post):
            if end is ens or (
                isinstance(end, nengo.base.ObjView) and _base_ensemble(end) is ens
            ):
                raise ValidationError(
                    f"{conn} connects to the tanh ensemble {ens} other than "
                    "through its whole .neurons; only such connections can be "
                    "turned into tanh pairs",
                    attr="network",
                    obj=conn,
                )
        if _is_neurons_of(conn.pre, ens) or _is_neurons_of(conn.post, ens):
            if conn.learning_rule_type is not None:
                raise ValidationError(
                    f"{conn} has a learning rule; tanh pairs cannot keep it",
                    attr="network",
                    obj=conn,
                )
            _dense_matrix(conn)  # raises for transforms that cannot be doubled


def _is_neurons_of(obj, ens):
    return isinstance(obj, nengo.ensemble.Neurons) and obj.ensemble is ens


def _base_ensemble(view):
    obj = view.obj
    return obj.ensemble if isinstance(obj, nengo.ensemble.Neurons) else obj


def _dense_matrix(conn):
    """The connection's transform as a ``(size_out, size_mid)`` matrix."""
    transform = conn.transform
    n_out, n_in = conn.size_out, conn.size_mid
    if isinstance(transform, nengo.transforms.NoTransform):
        return np.eye(n_out, n_in)
    if isinstance(transform, nengo.transforms.Dense) and not isinstance(
        transform.init, nengo.dists.Distribution
    ):
        init = np.asarray(transform.init, dtype=float)
        if init.ndim == 0:
            return init * np.eye(n_out, n_in)
        if init.ndim == 1:
            return np.diag(init)
        return init
    raise ValidationError(
        f"{conn} has a {type(transform).__name__} transform "
        "(or a random one); tanh pairs need a fixed dense transform (freeze "
        "trained parameters first)",
        attr="transform",
        obj=conn,
    )


def _tanh_pair(network, ens, max_rate):
    """Replace the tanh ensemble ``ens`` (inside ``network``) by its pairs."""
    n = ens.n_neurons
    gain, bias = np.asarray(ens.gain, float), np.asarray(ens.bias, float)
    neuron_type = tanh_pair_neuron(max_rate, tau_ref=ens.neuron_type.tau_ref)
    networks = [network] + list(network.all_networks)
    home = next(net for net in networks if ens in net.ensembles)
    with home:
        pair = nengo.Ensemble(
            2 * n,
            1,
            neuron_type=neuron_type,
            gain=TANH_PAIR_GAIN * np.concatenate([gain, gain]),
            bias=TANH_PAIR_GAIN * np.concatenate([bias, -bias]) + TANH_PAIR_BIAS,
            label=ens.label,
            seed=ens.seed,
        )
    _put_in_place(home.ensembles, ens, pair)
    replaced = {ens: pair}
    sign = np.array([1.0] * n + [-1.0] * n)
    for net in networks:
        for conn in list(net.connections):
            pre_old = _is_neurons_of(conn.pre, ens)
            post_old = _is_neurons_of(conn.post, ens)
            if not (pre_old or post_old):
                continue
            matrix = _dense_matrix(conn)
            if post_old:  # the off neurons get -x
                matrix = sign[:, None] * np.vstack([matrix, matrix])
            if pre_old:  # the off neurons' output counts negatively
                matrix = np.hstack([matrix, matrix]) * sign[None, :]
            with net:
                new = nengo.Connection(
                    pair.neurons if pre_old else conn.pre,
                    pair.neurons if post_old else conn.post,
                    transform=matrix,
                    synapse=conn.synapse,
                    label=conn.label,
                    seed=conn.seed,
                )
            _put_in_place(net.connections, conn, new)
            replaced[conn] = new
        for probe in list(net.probes):
            if _is_neurons_of(probe.target, ens):
                with net:
                    new = nengo.Probe(
                        pair.neurons,
                        attr=probe.attr,
                        sample_every=probe.sample_every,
                        synapse=probe.synapse,
                        label=probe.label,
                    )
                _put_in_place(net.probes, probe, new)
                replaced[probe] = new
    for net in networks:
        _replace_references(net, replaced)
    return pair


def _put_in_place(objects, old, new):
    """Put ``new`` (just added at the end of ``objects``) where ``old`` was."""
    objects.remove(new)
    objects[objects.index(old)] = new


def _replace_references(net, replaced):
    """Point a network's attributes (and lists/dicts of them) at new objects."""
    for name, value in list(vars(net).items()):
        if name.startswith("_") or name == "objects":
            continue
        if isinstance(value, list):
            vars(net)[name] = [replaced.get(v, v) if _hashable(v) else v for v in value]
        elif isinstance(value, dict):
            vars(net)[name] = {k: _replaced(v, replaced) for k, v in value.items()}
        elif _hashable(value) and value in replaced:
            vars(net)[name] = replaced[value]


def _replaced(value, replaced):
    """``value`` or its replacement; a list's items each replaced."""
    if isinstance(value, list):
        return [replaced.get(v, v) if _hashable(v) else v for v in value]
    return replaced.get(value, value) if _hashable(value) else value


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _scale_rates(network, ensembles, scale):
    """Multiply rectified-linear neurons' input by ``scale``, amplitude by
    ``1 / scale`` (``ensembles`` have inputs only into ``.neurons``)."""
    for ens in ensembles:
        if not isinstance(ens.neuron_type, nengo.SpikingRectifiedLinear):
            raise ValidationError(
                f"rate scaling is exact only for rectified-linear neurons; "
                f"{ens} is {type(ens.neuron_type).__name__}",
                attr="rate_scale",
            )
        if not isinstance(ens.bias, np.ndarray):
            raise ValidationError(
                f"{ens} needs explicit biases (an array) to be rate-scaled",
                attr="rate_scale",
            )
        ens.bias = ens.bias * scale
        ens.neuron_type = nengo.SpikingRectifiedLinear(
            amplitude=ens.neuron_type.amplitude / scale,
            initial_state=ens.neuron_type.initial_state,
        )
    for conn in network.all_connections:
        post = conn.post_obj
        if isinstance(post, nengo.ensemble.Neurons) and post.ensemble in ensembles:
            conn.transform = _scaled_transform(conn, scale)


def _scaled_transform(conn, scale):
    transform = conn.transform
    if isinstance(transform, nengo.transforms.NoTransform):
        return scale
    if not isinstance(transform, nengo.transforms.Dense):
        raise ValidationError(
            f"{conn} has a {type(transform).__name__} transform, which cannot be "
            "rate-scaled",
            attr="rate_scale",
        )
    init = transform.init
    if isinstance(init, nengo.dists.Distribution):
        raise ValidationError(
            f"{conn} has a random transform; build it (or freeze trained "
            "parameters) first",
            attr="rate_scale",
        )
    return nengo.transforms.Dense(transform.shape, init=np.array(init) * scale)


def _is_zero_lowpass(synapse):
    return isinstance(synapse, nengo.Lowpass) and synapse.tau == 0
