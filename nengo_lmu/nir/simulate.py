"""`simulate`: a numpy reference simulator of NIR graphs."""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.nir.graph import schedule

__all__ = ["simulate"]


def _arr(value, shape):
    return np.broadcast_to(np.asarray(value, dtype=float), shape)


class _Neurons:
    """Euler step of NIR's neuron and integrator nodes (as Norse 1.1.0 steps
    them; a spike counts as an input of 1 in its step)."""

    def __init__(self, node, dt):
        import nir

        self.node, self.dt = node, dt
        self.kind = type(node).__name__
        shape = None
        for attr in ("tau_mem", "tau", "r", "v_threshold"):
            if hasattr(node, attr) and getattr(node, attr) is not None:
                shape = np.shape(getattr(node, attr))
                break
        self.shape = shape
        self.v = np.zeros(shape)
        self.i = np.zeros(shape)
        self.spiking = isinstance(node, (nir.CubaLIF, nir.LIF, nir.IF))

    def step(self, x):
        node, dt = self.node, self.dt
        if self.kind == "CubaLIF":
            w_in = _arr(node.w_in, self.shape)
            self.i = self.i + dt / node.tau_syn * (w_in * x - self.i)
            x = self.i
        tau = getattr(node, "tau_mem", getattr(node, "tau", None))
        if self.kind in ("IF", "I"):
            self.v = self.v + dt * node.r * x
        else:
            self.v = self.v + dt / tau * (node.v_leak - self.v + node.r * x)
        if not self.spiking:
            return self.v
        spikes = self.v > node.v_threshold
        reset = 0.0 if node.v_reset is None else node.v_reset
        self.v = np.where(spikes, reset, self.v)
        return spikes.astype(float)


def simulate(graph, inputs, dt=0.001, record=()):
    """Run a NIR graph on ``inputs`` with Euler steps of ``dt``.

    Each step computes the nodes in the order NIR consumers use
    (`nengo_lmu.nir.graph.schedule`: inputs that a node reaches itself come
    from the previous step; Norse 1.1.0 through nirtorch 2.6 does the same).
    Neurons (``CubaLIF``, ``LIF``, ``IF``) and integrators (``LI``, ``I``) are
    stepped with Euler as in the NIR equations, with no refractory period and
    the voltage set to ``v_reset`` after a spike; a spike is an output of 1 in
    the step it happens; the synaptic current of ``CubaLIF`` is updated before
    the voltage, which uses the new current. ``Affine``, ``Linear`` and
    ``Scale`` are applied to the current step's values. Everything starts at
    zero.

    Parameters
    ----------
    graph : nir.NIRGraph
        A graph with one ``Input`` and one ``Output`` node (as `to_nir` writes).
    inputs : array_like
        ``(steps, input size)``, or ``(batch, steps, input size)`` for
        independent runs side by side.
    dt : float
        Time step in seconds.
    record : sequence of str
        Names of nodes whose outputs are also returned.

    Returns
    -------
    output : ndarray
        ``([batch,] steps, output size)``.
    recorded : dict of ndarray
        Only if ``record`` is given: each recorded node's ``([batch,] steps, size)``.

    Examples
    --------
    >>> import nir
    >>> graph = nir.NIRGraph.from_list(nir.Linear(np.eye(2)))  # doctest: +SKIP
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
    inputs = np.asarray(inputs, dtype=float)
    if inputs.ndim not in (2, 3):
        raise ValidationError(
            "must be (steps, input size) or (batch, steps, input size), got shape "
            f"{inputs.shape}",
            attr="inputs",
        )
    batched = inputs.ndim == 3
    if batched:
        inputs = np.moveaxis(inputs, 1, 0)  # steps first
    for name, node in nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise ValidationError(
                f"node {name!r} is a subgraph; flatten it first", attr="graph"
            )
        if not isinstance(
            node,
            (
                nir.Input,
                nir.Output,
                nir.Affine,
                nir.Linear,
                nir.Scale,
                nir.CubaLIF,
                nir.LIF,
                nir.IF,
                nir.LI,
                nir.I,
            ),
        ):
            raise ValidationError(
                f"node {name!r} is a {type(node).__name__}, which this simulator "
                "does not run (it runs Input, Output, Affine, Linear, Scale, CubaLIF, "
                "LIF, IF, LI and I)",
                attr="graph",
            )
    order, delayed = schedule(nodes, list(graph.edges))
    preds = {name: [] for name in nodes}
    for src, dst in graph.edges:
        preds[dst].append(src)
    state = {
        name: _Neurons(node, dt)
        for name, node in nodes.items()
        if isinstance(node, (nir.CubaLIF, nir.LIF, nir.IF, nir.LI, nir.I))
    }
    record = list(record)
    for name in record:
        if name not in nodes:
            raise ValidationError(f"no node named {name!r}", attr="record")
    prev, out = {}, {}
    outputs, recorded = [], {name: [] for name in record}
    for x in inputs:
        out = {}
        for name in order:
            node = nodes[name]
            if isinstance(node, nir.Input):
                out[name] = x
                continue
            total = 0.0
            for src in preds[name]:
                value = prev.get(src, 0.0) if (src, name) in delayed else out[src]
                total = total + value
            if isinstance(node, nir.Output):
                out[name] = np.asarray(total, dtype=float)
            elif isinstance(node, nir.Affine):
                out[name] = total @ node.weight.T + node.bias
            elif isinstance(node, nir.Linear):
                out[name] = total @ node.weight.T
            elif isinstance(node, nir.Scale):
                out[name] = node.scale * total
            else:
                out[name] = state[name].step(total)
        outputs.append(np.broadcast_to(out[outs[0]], np.shape(out[outs[0]])))
        for name in record:
            recorded[name].append(np.array(out[name], dtype=float))
        prev = out
    output = np.array(outputs, dtype=float)
    recorded = {k: np.array(v) for k, v in recorded.items()}
    if batched:
        output = np.moveaxis(output, 0, 1)
        recorded = {k: np.moveaxis(v, 0, 1) for k, v in recorded.items()}
    if record:
        return output, recorded
    return output
