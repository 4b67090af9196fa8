"""`from_nir`: NIR graphs as Nengo networks (`nengo_lmu.nir.export` writes them)."""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.nir.graph import schedule
from nengo_lmu.nir.neurons import CubaLIF

__all__ = ["from_nir"]


def from_nir(graph, dt=0.001):
    """A Nengo network computing what NIR consumers compute from ``graph``.

    ``CubaLIF`` populations (``v_leak`` and ``v_reset`` zero) become
    Ensembles of `CubaLIF` neurons, one per run of equal ``tau_syn`` and
    ``tau_mem``, driven through ``.neurons`` (``r * w_in / v_threshold``
    folded into their inputs);
    ``Affine``, ``Linear`` and ``Scale`` nodes become passthrough Nodes; the
    edges NIR consumers delay (`nengo_lmu.nir.graph.schedule`) get
    ``synapse=0``, all others ``synapse=None``.

    Parameters
    ----------
    graph : nir.NIRGraph
        One ``Input`` and one ``Output`` node (as `to_nir` makes).
    dt : float
        The step the network will run at (a consumer's step).

    Returns
    -------
    network : nengo.Network
        With ``input`` and ``output`` Nodes, and ``populations``: for each
        NIR neuron node, a Node whose output is its spikes (1 per spike).
    """
    import nir

    dt = check_positive_finite(dt, "dt")
    nodes = dict(graph.nodes)
    ins = [n for n, node in nodes.items() if isinstance(node, nir.Input)]
    outs = [n for n, node in nodes.items() if isinstance(node, nir.Output)]
    if len(ins) != 1 or len(outs) != 1:
        raise ValidationError(
            f"needs one Input and one Output node, got {len(ins)} and {len(outs)}",
            attr="graph",
        )
    scales = {}
    for name, node in nodes.items():
        if isinstance(node, nir.CubaLIF):
            for attr in ("v_leak", "v_reset"):
                value = getattr(node, attr)
                if value is not None and np.any(np.asarray(value) != 0):
                    raise ValidationError(
                        f"node {name!r} has a nonzero {attr}, which "
                        "nengo_lmu.nir.CubaLIF does not model",
                        attr="graph",
                    )
            scales[name] = (
                np.asarray(node.r, float)
                * np.asarray(node.w_in, float)
                / np.asarray(node.v_threshold, float)
            ) * np.ones(np.shape(node.tau_mem))
        elif not isinstance(
            node, (nir.Input, nir.Output, nir.Affine, nir.Linear, nir.Scale)
        ):
            raise ValidationError(
                f"node {name!r} is a {type(node).__name__}; from_nir rebuilds Input, "
                "Output, Affine, Linear, Scale and CubaLIF",
                attr="graph",
            )
    _, delayed = schedule(nodes, list(graph.edges))
    with nengo.Network(label="from_nir") as net:
        made = {}
        net.populations = {}
        for name, node in nodes.items():
            if isinstance(node, nir.Input):
                made[name] = net.input = nengo.Node(
                    size_in=int(np.prod(node.input_type["input"])), label=name
                )
            elif isinstance(node, nir.Output):
                made[name] = net.output = nengo.Node(
                    size_in=int(np.prod(node.output_type["output"])), label=name
                )
            elif isinstance(node, nir.CubaLIF):
                made[name] = _population(net, name, node, scales[name], dt)
            elif isinstance(node, (nir.Affine, nir.Linear)):
                made[name] = nengo.Node(size_in=node.weight.shape[0], label=name)
            else:
                made[name] = nengo.Node(size_in=np.size(node.scale), label=name)
        for name, node in nodes.items():
            if isinstance(node, nir.Affine) and np.any(node.bias):
                const = nengo.Node(np.asarray(node.bias, float), label=f"{name}.bias")
                nengo.Connection(const, made[name], synapse=None)
        for src, dst in graph.edges:
            s, d = nodes[src], nodes[dst]
            transform = 1.0
            if isinstance(d, (nir.Affine, nir.Linear)):
                transform = np.asarray(d.weight, float)
            elif isinstance(d, nir.Scale):
                transform = np.diag(np.ravel(d.scale))
            nengo.Connection(
                made[src][1] if isinstance(s, nir.CubaLIF) else made[src],
                made[dst][0] if isinstance(d, nir.CubaLIF) else made[dst],
                transform=transform,
                synapse=0 if (src, dst) in delayed else None,
            )
    return net


def _population(net, name, node, scale, dt):
    """A NIR CubaLIF population as Ensembles of equal time constants, between
    an input Node (currents) and an output Node (spikes as 1 per step)."""
    n = int(np.size(node.tau_mem))
    tau_syn = np.broadcast_to(np.asarray(node.tau_syn, float), (n,))
    tau_mem = np.broadcast_to(np.asarray(node.tau_mem, float), (n,))
    into = nengo.Node(size_in=n, label=f"{name}.in")
    out = nengo.Node(size_in=n, label=name)
    net.populations[name] = out
    start = 0
    while start < n:
        stop = start + 1
        while (
            stop < n
            and tau_syn[stop] == tau_syn[start]
            and tau_mem[stop] == tau_mem[start]
        ):
            stop += 1
        k = stop - start
        ens = nengo.Ensemble(
            k,
            1,
            neuron_type=CubaLIF(tau_syn=tau_syn[start], tau_mem=tau_mem[start]),
            gain=np.ones(k),
            bias=np.zeros(k),
            label=f"{name}[{start}:{stop}]",
        )
        nengo.Connection(
            into[start:stop],
            ens.neurons,
            transform=np.diag(scale[start:stop]),
            synapse=None,
        )
        # Nengo's spikes are 1 / dt, NIR's 1
        nengo.Connection(ens.neurons, out[start:stop], transform=dt, synapse=None)
        start = stop
    return into, out
