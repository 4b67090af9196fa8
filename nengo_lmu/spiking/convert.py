"""`to_spiking`: a trained rate network as a spiking one."""

import copy

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite, coerce_synapse
from nengo_lmu.networks.dropout import SequenceDropout
from nengo_lmu.spiking.rewrite import put_in_place, replace_references
from nengo_lmu.spiking.tanh import check_tanh_ensemble, tanh_pair
from nengo_lmu.spiking.twins import spiking_twin


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
    for net in [network] + network.all_networks:
        if getattr(net, "nengo_dl_only", False):
            raise ValidationError(
                f"{net} runs in NengoDL only ({type(net).__name__}: a trainable "
                "theta on the zero-order-hold memory, in a TensorNode), so it has "
                "no spiking version; build the LMU again with the learned theta "
                "(nengo_lmu.dl.lmu_weights(sim, lmu)['theta']) and "
                "trainable_theta=False, then convert that",
                attr="network",
            )
    swapped, tanh = {}, []
    for ens in network.all_ensembles:
        if isinstance(ens.neuron_type, nengo.Tanh):
            check_tanh_ensemble(network, ens)
            for probe in network.all_probes:
                if probe.target is ens:
                    raise ValidationError(
                        f"{probe} decodes the tanh ensemble {ens}, which becomes "
                        "a pair of LIF neurons per unit with no decoders; probe "
                        f"{ens}.neurons (or a Node it feeds, such as an LMU's "
                        "output) instead",
                        attr="network",
                    )
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
    pairs = {tanh_pair(spiking, copies[ens], tanh_max_rate) for ens in tanh}
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
                put_in_place(owner.connections, conn, new)
                replaced[conn] = new
            next(n for n in networks if into[0] in n.connections).connections.remove(
                into[0]
            )
            net.nodes.remove(node)
            replaced[node] = None
    for net in networks:
        replace_references(net, replaced)
        if isinstance(getattr(net, "dropout_nodes", None), dict):
            net.dropout_nodes = {}


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
