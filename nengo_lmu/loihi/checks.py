"""Whether, and why not, a network can go on the chip (`check_loihi`).

NengoLoihi is imported inside the functions that need it.
"""

import warnings

import nengo
import numpy as np
from nengo.exceptions import BuildError, ValidationError

from nengo_lmu._extras import require
from nengo_lmu._validation import check_positive_finite
from nengo_lmu.spiking.rewrite import base_object
from nengo_lmu.spiking.twins import spiking_twin


def supported_neuron_types():
    """The neuron types that NengoLoihi can put on the chip.

    Read from NengoLoihi's builder (its registered neuron builders), so it
    follows the installed version; subclasses of these types are supported
    too. Needs NengoLoihi.

    Returns
    -------
    types : tuple of type
    """
    from nengo_loihi.builder import Builder  # pylint: disable=import-outside-toplevel

    return tuple(
        cls
        for cls in Builder.builders
        if isinstance(cls, type)
        and issubclass(cls, nengo.neurons.NeuronType)
        and cls is not nengo.neurons.NeuronType
    )


def _type_names(types):
    return ", ".join(sorted(t.__name__ for t in types))


def _check_neuron_type(neuron_type, attr="neuron_type", obj=None):
    """Raise a ValidationError if ``neuron_type`` cannot run on the chip."""
    supported = supported_neuron_types()
    if not isinstance(neuron_type, supported):
        raise ValidationError(
            f"{type(neuron_type).__name__} cannot be simulated on Loihi; the "
            f"supported neuron types are {_type_names(supported)} (and "
            "RegularSpiking of LIFRate or RectifiedLinear), or mark the ensemble "
            "off-chip with net.config[ens].on_chip = False",
            attr=attr,
            obj=obj,
        )
    if isinstance(neuron_type, nengo.RegularSpiking) and type(
        neuron_type.base_type
    ) not in (nengo.LIFRate, nengo.RectifiedLinear):
        raise ValidationError(
            f"RegularSpiking({type(neuron_type.base_type).__name__}) cannot be "
            "simulated on Loihi; only LIFRate and RectifiedLinear base types can",
            attr=attr,
            obj=obj,
        )


class LoihiReport:
    """What `check_loihi` found: where things go, and what the build lost.

    Attributes
    ----------
    on_chip, off_chip : list of nengo.Ensemble
        Ensembles placed on the chip and on the host.
    n_blocks : int
        Loihi blocks (one core each) after NengoLoihi split the ensembles,
        decode neurons and input neurons over cores.
    n_compartments : int
        Compartments (neurons) on the chip, decode neurons included.
    lost_weight_bits : list of int
        The ``N`` of each of NengoLoihi's "Lost N extra bits in weight
        rounding" warnings (weights too small for their synapse's shared
        exponent lose precision); empty if none.
    warnings : list of str
        Every other warning the build raised.
    model : nengo_loihi.builder.Model
        The built model (``model.utilization_summary()`` gives per-core use).
    """

    def __init__(self, on_chip, off_chip, model, caught):
        self.on_chip = on_chip
        self.off_chip = off_chip
        self.model = model
        self.n_blocks = len(model.blocks)
        self.n_compartments = sum(b.compartment.n_compartments for b in model.blocks)
        self.lost_weight_bits = []
        self.warnings = []
        for w in caught:
            text = str(w.message)
            if text.startswith("Lost ") and "weight rounding" in text:
                self.lost_weight_bits.append(int(text.split()[1]))
            elif text not in self.warnings:
                self.warnings.append(text)

    def __str__(self):
        lines = [
            f"on chip: {len(self.on_chip)} ensemble(s) "
            f"({sum(e.n_neurons for e in self.on_chip)} neurons); "
            f"off chip: {len(self.off_chip)} ensemble(s)",
            f"{self.n_blocks} block(s)/core(s), {self.n_compartments} compartments "
            "(decode and input neurons included)",
        ]
        if self.lost_weight_bits:
            lines.append(
                f"weight rounding lost up to {max(self.lost_weight_bits)} extra "
                f"bit(s) ({len(self.lost_weight_bits)} warning(s))"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __repr__(self):
        return f"<LoihiReport: {self.n_blocks} blocks, {len(self.on_chip)} on chip>"


def _as_spiking(neuron_type):
    """The type a rate memory runs as on the chip, after `to_spiking`
    (rate types without a twin are left for the chip check to refuse)."""
    try:
        return spiking_twin(neuron_type)
    except ValidationError:
        return neuron_type


def _loops_through_host(objs, conns, on_chip):
    """Cycles of the connection graph that contain on-chip and host objects."""
    from scipy.sparse import coo_matrix  # pylint: disable=import-outside-toplevel
    from scipy.sparse.csgraph import (  # pylint: disable=import-outside-toplevel
        connected_components,
    )

    index = {obj: i for i, obj in enumerate(objs)}
    edges = [
        (index[base_object(c.pre)], index[base_object(c.post)])
        for c in conns
        if base_object(c.pre) in index and base_object(c.post) in index
    ]
    if not edges:
        return []
    rows, cols = np.array(edges).T
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(objs),) * 2)
    _, labels = connected_components(graph, directed=True, connection="strong")
    loops = []
    for label in np.unique(labels):
        members = [objs[i] for i in np.flatnonzero(labels == label)]
        if len(members) > 1 and any(on_chip(m) for m in members):
            host = [m for m in members if not on_chip(m)]
            if host:
                loops.append((members, host))
    return loops


def _check_host_objects(network):
    """Refuse what only NengoDL runs (a trainable-theta memory, TensorNodes):
    NengoLoihi's build accepts them and its simulator fails at the first step."""
    for net in [network] + network.all_networks:
        if getattr(net, "nengo_dl_only", False):
            raise ValidationError(
                f"{net} runs in NengoDL only ({type(net).__name__}: a trainable "
                "theta on the zero-order-hold memory, in a TensorNode); build the "
                "LMU again with the learned theta "
                "(nengo_lmu.dl.lmu_weights(sim, lmu)['theta']) and "
                "trainable_theta=False",
                attr="network",
            )
    for node in network.all_nodes:
        if type(node).__module__.split(".")[0] == "nengo_dl":
            raise ValidationError(
                f"{node} is a {type(node).__name__}, which runs in NengoDL only",
                attr="network",
            )


def _where(error):
    """``file:line`` of the innermost frame of ``error``'s traceback."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "unknown place"
    code = tb.tb_frame.f_code
    return f"{code.co_filename.split('site-packages/')[-1]}:{tb.tb_lineno}"


def check_loihi(network, dt=0.001, model=None):
    """Check that ``network`` can go on Loihi, before simulating it.

    Runs NengoLoihi's placement (which ensembles go on the chip) and first
    checks, with messages that name the offending object:

    * there is no NengoDL-only ``TensorNode`` (such as an `~nengo_lmu.LMU`'s
      trainable-theta memory), which NengoLoihi's build would take as a host
      Node but cannot run;

    * each on-chip ensemble's neuron type is one that Loihi runs
      (`supported_neuron_types`), and it has no ``noise``;
    * each connection between on-chip objects has a ``Lowpass`` synapse or
      none (the chip has no other filters);
    * no recurrent loop through an on-chip ensemble passes through the host
      (a Node that NengoLoihi cannot remove as a passthrough, or an off-chip
      ensemble): such a loop would be split between host and chip.

    Objects that run in NengoDL only (a trainable-theta memory, TensorNodes)
    are refused. It then builds the network for the chip (split over cores,
    discretised and validated, and the emulator set up, as
    ``nengo_loihi.Simulator`` does, without simulating) and re-raises any
    build failure (weights it cannot quantise, cores over their limits, an
    internal assertion of NengoLoihi) as a BuildError with the reason.
    NengoLoihi's build adds its config parameters (``on_chip`` etc.) to
    ``network.config``, as the Simulator does.

    Parameters
    ----------
    network : nengo.Network
    dt : float
        Simulator time step.
    model : nengo_loihi.builder.Model, optional
        A model with non-default settings (for example from `loihi_model`);
        a fresh model is built into, so the same one cannot be passed to the
        Simulator afterwards.

    Returns
    -------
    report : LoihiReport

    Raises
    ------
    nengo.exceptions.ValidationError
        An object that cannot go on the chip, named, with why.
    nengo.exceptions.BuildError
        NengoLoihi's build failed; the message says why.

    Examples
    --------
    >>> with nengo.Network(seed=0) as net:
    ...     memory = LMUMemory(**memory_kwargs(theta=1.0, order=6))
    >>> print(check_loihi(net))  # doctest: +SKIP
    """
    require("nengo_loihi", what="check_loihi")
    # pylint: disable=import-outside-toplevel
    from nengo_loihi.builder import Model
    from nengo_loihi.emulator import EmulatorInterface
    from nengo_loihi.splitter import Split

    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    dt = check_positive_finite(dt, "dt")
    _check_host_objects(network)
    split = Split(network, remove_passthrough=True)

    def on_chip(obj):
        return isinstance(obj, (nengo.Ensemble, nengo.Node)) and split.on_chip(obj)

    ensembles = network.all_ensembles
    chip = [e for e in ensembles if on_chip(e)]
    if not chip:
        raise ValidationError(
            "has no ensemble on the chip (every ensemble is marked on_chip=False "
            "or uses Direct neurons)",
            attr="network",
        )
    for ens in chip:
        _check_neuron_type(ens.neuron_type, attr="neuron_type", obj=ens)
        if ens.noise is not None:
            raise ValidationError(
                "ensemble noise cannot be simulated on Loihi; remove it or mark "
                "the ensemble off-chip",
                attr="noise",
                obj=ens,
            )

    passthrough = split.passthrough
    conns = (set(network.all_connections) | passthrough.to_add) - passthrough.to_remove
    conns = sorted(conns, key=str)
    for conn in conns:
        pre, post = base_object(conn.pre), base_object(conn.post)
        if (
            on_chip(pre)
            and on_chip(post)
            and conn.synapse is not None
            and not isinstance(conn.synapse, nengo.Lowpass)
        ):
            raise ValidationError(
                f"{conn.synapse} cannot run on Loihi, which filters on-chip "
                "connections only with nengo.Lowpass (or synapse=None); to realise "
                "a higher-order filter, keep Lowpass and map onto it with "
                "nengo_lmu.loihi.loop_synapse",
                attr="synapse",
                obj=conn,
            )

    objs = [
        o
        for o in network.all_ensembles + network.all_nodes
        if o not in passthrough.to_remove
    ]
    for members, host in _loops_through_host(objs, conns, on_chip):
        chip_members = ", ".join(str(m) for m in members if on_chip(m))
        raise ValidationError(
            f"a recurrent loop through on-chip {chip_members} passes through the "
            f"host via {', '.join(str(h) for h in host)}; each pass would cross "
            "between host and chip. Connect the loop ensemble to ensemble: "
            "NengoLoihi removes only passthrough Nodes (no output function) "
            "between on-chip objects, and off-chip ensembles stay on the host",
            attr="network",
        )

    model = Model(dt=dt) if model is None else model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.build(network)
            # what nengo_loihi.Simulator builds next: the chip's emulator
            # (its own checks and assertions run here, not at the first step)
            EmulatorInterface(model, seed=0).close()
        except AssertionError as error:
            # an internal NengoLoihi assertion: never a bare AssertionError
            raise BuildError(
                f"NengoLoihi cannot build {network} for Loihi: an internal check "
                f"of NengoLoihi failed ({_where(error)}: {error or 'assert'}); "
                "the network (often a block's weights or the cores' limits) is "
                "outside what NengoLoihi handles"
            ) from error
        except (BuildError, NotImplementedError, ValidationError) as error:
            hint = ""
            if "weight exponent" in str(error):
                hint = (
                    " (the weights into this block span more than the chip's "
                    "8-bit weights with one shared exponent can hold: use fewer, "
                    "higher-dimensional ensembles, e.g. ensemble_dimensions=order, "
                    "or drop tiny transform entries)"
                )
            raise BuildError(
                f"NengoLoihi cannot build {network} for Loihi: "
                f"{type(error).__name__}: {error}{hint}"
            ) from error
    return LoihiReport(chip, [e for e in ensembles if e not in chip], model, caught)
