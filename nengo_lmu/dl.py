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


def import_nengo_dl():
    """Import NengoDL, or say clearly which extra installs it."""
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
    network, train_memory=False, stateful=False, keep_history=False, **settings
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
    for lmu in _lmus(network):
        for conn in lmu.memory.all_connections:
            network.config[conn].trainable = bool(train_memory)
        for ens in lmu.memory.all_ensembles:
            network.config[ens].trainable = bool(train_memory)
        if lmu.theta_connection is not None:
            network.config[lmu.theta_connection].trainable = True
        if lmu.hidden is not None:
            # the hidden state is driven through .neurons: its encoders are
            # unused, its biases are the cell's b_h
            network.config[lmu.hidden].trainable = False
            network.config[lmu.hidden.neurons].trainable = True
    return network


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
    bad = [i for i, value in enumerate(values)
           if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value))]
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
    synapse = coerce_synapse(synapse, "synapse")
    rate_scale = check_positive_finite(rate_scale, "rate_scale")
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
