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

from nengo_lmu.networks.lmu import DRAWN_SEED_LIMIT

#: Rate neuron types and their spiking twins (same rate function).
SPIKING_TWINS = {
    nengo.RectifiedLinear: lambda n: nengo.SpikingRectifiedLinear(
        amplitude=n.amplitude, initial_state=n.initial_state
    ),
    nengo.LIFRate: lambda n: nengo.LIF(
        tau_rc=n.tau_rc, tau_ref=n.tau_ref, amplitude=n.amplitude,
        min_voltage=0,
    ),
}


def quiet_tensorflow():
    """Keep TensorFlow's C++ info and debug lines (such as "Executor start
    aborting") off stderr: sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user
    set it, which TensorFlow reads when it is first imported."""
    import os  # pylint: disable=import-outside-toplevel

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_nengo_dl():
    """Import NengoDL, or say clearly which extra installs it."""
    quiet_tensorflow()
    try:
        import nengo_dl  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError(
            "NengoDL is needed for this; install the `dl` extra: "
            "pip install -c constraints.txt -e \".[dl]\""
        ) from err
    return nengo_dl


def _lmus(network):
    from nengo_lmu.networks.lmu import LMU  # pylint: disable=import-outside-toplevel

    return [n for n in [network] + list(network.all_networks) if isinstance(n, LMU)]


def configure_training(
    network, train_memory=False, stateful=False, keep_history=False, fixed=(),
    **settings
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
      per-weight trainability of the LMU paper's cell
      (``trainable_input_encoders=False`` is ``fixed=["kernel"]``, and so
      on). Names an LMU does not have are ignored; unknown names raise an
      error.

    * Probes without a seed get one that no connection can be assigned
      (see `~nengo_lmu.networks.lmu.protect_from_probe_seeds`): NengoDL
      makes any connection whose seed equals a probe's untrainable, which
      happens silently when a subnetwork has the same seed as its parent.
      Only probes of Nodes, Neurons and Connections, whose seed is unused.

    * ``planner``: NengoDL's ``noop_planner`` unless given. NengoDL's default
      (tree) planner merges operators in a way that makes the LMU's long
      unrolled recurrence about four times slower to train (benchmark B2).

    Further keyword arguments go to ``nengo_dl.configure_settings``.
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    nengo_dl = import_nengo_dl()
    settings.setdefault("planner", nengo_dl.graph_optimizer.noop_planner)
    with network:
        nengo_dl.configure_settings(
            trainable=None, stateful=stateful, keep_history=keep_history, **settings
        )
    for i, probe in enumerate(network.all_probes):
        if probe.seed is None and not isinstance(probe.target, nengo.Ensemble):
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

    ==========================  ================================  ============
    key                         KerasLMU 0.8 variable             shape
    ==========================  ================================  ============
    ``kernel``                  ``LMUCell.kernel``                ``(input_d [+ units], memory_d)``
    ``recurrent_kernel``        ``LMUCell.recurrent_kernel``      ``(memory_d * order, memory_d)``
    ``bias``                    ``LMUCell.bias``                  ``(memory_d,)``
    ``hidden_kernel``           ``hidden_cell.kernel``            ``(memory_d * order [+ input_d], units)``
    ``hidden_recurrent_kernel`` ``hidden_cell.recurrent_kernel``  ``(units, units)``
    ``hidden_bias``             ``hidden_cell.bias``              ``(units,)``
    ``theta``                   ``LMUCell.theta`` times ``dt``    scalar, seconds
    ==========================  ================================  ============

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
        weights["hidden_bias"] = np.array(
            sim.data.get_params((lmu.hidden, "bias"))[0]
        )
    weights["theta"] = lmu_theta(sim, lmu)
    return weights


def lmu_theta(sim, lmu):
    """``lmu``'s theta in seconds: the trained value when it is trainable."""
    if lmu.theta_connection is not None:
        gain = float(np.squeeze(sim.data.get_params((lmu.theta_connection,
                                                     "weights"))[0]))
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
    quiet_tensorflow()
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    path = str(path)
    file = path if path.endswith(".npz") else path + ".npz"
    params = list(sim.keras_model.weights)
    if include_state:
        params.extend(sim.tensor_graph.saved_state.values())
    try:
        with np.load(file) as data:
            values = [data[f"arr_{i}"] for i in range(len(data.files))]
    except (OSError, ValueError, KeyError) as err:
        raise ValidationError(
            f"cannot read NengoDL parameters from {file}: {err}", attr="path"
        ) from None
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


def spiking_twin(neuron_type):
    """The spiking neuron type with the same rate function as ``neuron_type``.

    A spiking type is returned as it is; NengoDL's ``SoftLIFRate`` becomes
    ``nengo.LIF``. Raises a ValidationError for rate types without a twin
    (``nengo.Tanh`` and ``nengo.Sigmoid``: spikes cannot carry negative rates).
    """
    if neuron_type.spiking:
        return neuron_type
    for rate_type, make in SPIKING_TWINS.items():
        if type(neuron_type) is rate_type:
            return make(neuron_type)
    if type(neuron_type).__name__ == "SoftLIFRate":
        return nengo.LIF(
            tau_rc=neuron_type.tau_rc, tau_ref=neuron_type.tau_ref,
            amplitude=neuron_type.amplitude,
        )
    raise ValidationError(
        f"{type(neuron_type).__name__} has no spiking twin; train with one of "
        "nengo.RectifiedLinear, nengo.LIFRate or nengo_dl.SoftLIFRate",
        attr="neuron_type",
    )


def to_spiking(network, synapse=0.005, rate_scale=1.0):
    """A copy of ``network`` with every rate neuron type swapped for its spiking
    twin, and a synapse on each connection out of those neurons.

    Spiking neurons emit impulses of height ``1/dt``; filtering them with
    ``synapse`` (a float time constant or any Nengo synapse) on every
    outgoing connection approximates the rates the network was trained on
    (connections with ``synapse=None`` or ``0`` get it). Probes on the
    neurons keep their own synapse.

    ``rate_scale`` multiplies the firing rates of rectified-linear neurons
    without changing what they compute: their input (bias and every
    connection into ``.neurons``) is multiplied by ``rate_scale`` and their
    amplitude divided by it, which a rectified-linear rate function passes
    through exactly. More spikes per second carry the same values with less
    spike noise.

    Parameters
    ----------
    network : nengo.Network
        Usually the trained network (after ``sim.freeze_params(network)``).
    synapse : float or nengo.synapses.Synapse
        Synapse of the connections out of the swapped ensembles.

    Returns
    -------
    spiking : nengo.Network
        A deep copy (attributes of the networks, such as ``lmu.output``, are
        copied along and point at the copy's objects).
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    if isinstance(synapse, (int, float)):
        synapse = nengo.Lowpass(synapse)
    if not isinstance(synapse, nengo.synapses.Synapse):
        raise ValidationError(
            f"must be a time constant or a nengo Synapse, got {synapse!r}",
            attr="synapse",
        )
    if not isinstance(rate_scale, (int, float)) or not rate_scale > 0:
        raise ValidationError(
            f"must be a number > 0, got {rate_scale!r}", attr="rate_scale"
        )
    # check every type first, so that nothing is half-converted
    swapped = {}
    for ens in network.all_ensembles:
        if not ens.neuron_type.spiking:
            swapped[ens] = spiking_twin(ens.neuron_type)
    spiking = copy.deepcopy(network)
    spiking_ensembles = set()
    for old, new in zip(network.all_ensembles, spiking.all_ensembles):
        if old in swapped:
            new.neuron_type = swapped[old]
            spiking_ensembles.add(new)
    if rate_scale != 1.0:
        _scale_rates(spiking, spiking_ensembles, rate_scale)
    for conn in spiking.all_connections:
        pre = getattr(conn.pre_obj, "ensemble", conn.pre_obj)
        if pre in spiking_ensembles and (
            conn.synapse is None or _is_zero_lowpass(conn.synapse)
        ):
            conn.synapse = synapse
    return spiking


def _scale_rates(network, ensembles, scale):
    """Multiply rectified-linear neurons' input by ``scale``, amplitude by
    ``1 / scale``; only connections into ``.neurons`` are supported, since a
    decoded input's gain would need changing too."""
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
        elif post in ensembles:
            raise ValidationError(
                f"{conn} feeds a rate-scaled ensemble through its decoded input; "
                "connect to .neurons instead",
                attr="rate_scale",
            )


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
