"""`to_nir`: Nengo networks as NIR graphs (`nengo_lmu.nir.reader` reads them back)."""

import collections

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.nir.neurons import CubaLIF
from nengo_lmu.version import version

__all__ = ["to_nir"]

#: time constant that makes a leaky NIR neuron an integrator (r = tau_mem)
IF_TAU = 1e4

_Term = collections.namedtuple("_Term", "source matrix delay tau")


def _synapse(conn):
    """(delay steps, lowpass tau or None) of a connection's synapse."""
    syn = conn.synapse
    if syn is None:
        return 0, None
    if isinstance(syn, nengo.Lowpass):
        return (1, None) if syn.tau == 0 else (0, float(syn.tau))
    raise ValidationError(
        f"{conn} has the synapse {syn}, which NIR cannot express; use None, 0 or "
        "a nengo.Lowpass",
        attr="synapse",
        obj=conn,
    )


def _label(obj):
    text = str(obj.label or type(obj).__name__.lower())
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def _selector(size, sl):
    return np.eye(size)[np.arange(size)[sl]]


class _Exporter:
    def __init__(self, network, dt, inputs, outputs, approximate):
        self.network, self.dt, self.approximate = network, dt, approximate
        self.model = nengo.builder.Model(dt=dt)
        self.model.build(network)
        self.into = collections.defaultdict(list)
        for conn in network.all_connections:
            self.into[conn.post_obj].append(conn)
        self.ensembles = list(network.all_ensembles)
        self._check_objects()
        self.inputs = self._inputs(inputs)
        self.outputs = self._outputs(outputs)
        self._memo = {}

    # checks, before anything is built
    def _check_objects(self):
        for conn in self.network.all_connections:
            if conn.learning_rule_type is not None:
                raise ValidationError(
                    f"{conn} has a learning rule, which NIR cannot express; freeze "
                    "the learned weights first",
                    attr="learning_rule_type",
                    obj=conn,
                )
            _synapse(conn)
        for ens in self.ensembles:
            nt = ens.neuron_type
            if isinstance(nt, CubaLIF):
                continue
            if not nt.spiking:
                raise ValidationError(
                    f"{ens} has {type(nt).__name__} neurons, which are not spiking; "
                    "NIR graphs of this library are spiking (use to_spiking first)",
                    attr="neuron_type",
                    obj=ens,
                )
            if not isinstance(nt, (nengo.LIF, nengo.SpikingRectifiedLinear)):
                raise ValidationError(
                    f"{ens} has {type(nt).__name__} neurons, which have no NIR "
                    "counterpart; use nengo_lmu.nir.CubaLIF",
                    attr="neuron_type",
                    obj=ens,
                )
            if not self.approximate:
                raise ValidationError(
                    f"{ens} has {type(nt).__name__} neurons, which NIR consumers run "
                    "differently (no refractory period, no voltage floor, reset to "
                    "zero); use nengo_lmu.nir.CubaLIF neurons (memory_options) for an "
                    "exact export, or to_nir(..., approximate=True)",
                    attr="neuron_type",
                    obj=ens,
                )

    def _inputs(self, inputs):
        if inputs is None:
            inputs = [
                n
                for n in self.network.all_nodes
                if n.size_in == 0 and n.output is not None and not self._constant(n)
            ]
        inputs = list(inputs)
        if not inputs:
            raise ValidationError(
                "the network has no input Node; NIR graphs need one (give inputs)",
                attr="inputs",
                obj=self.network,
            )
        for node in inputs:
            if not isinstance(node, nengo.Node):
                raise ValidationError(
                    f"must be Nodes, got {node!r}", attr="inputs", obj=self.network
                )
        return inputs

    def _outputs(self, outputs):
        if outputs is None:
            outputs = [  # what is probed, other than neurons and inputs
                p.target
                for p in self.network.all_probes
                if isinstance(p.target, nengo.Node) and p.target not in self.inputs
            ]
        outputs = list(dict.fromkeys(outputs))
        for target in outputs:
            if not isinstance(target, nengo.Node):
                raise ValidationError(
                    f"must be Nodes, got {target!r}; connect what to read out to a "
                    "Node (a decoded connection from an ensemble) and give that",
                    attr="outputs",
                    obj=self.network,
                )
        if not outputs:
            raise ValidationError(
                "nothing to read out; give outputs (Nodes) or probe them",
                attr="outputs",
                obj=self.network,
            )
        return outputs

    @staticmethod
    def _constant(node):
        return node.size_in == 0 and isinstance(node.output, np.ndarray)

    # the value of an object as terms over sources
    def _value(self, obj):
        """Terms (source, matrix, delay, tau) whose sum is ``obj``'s output."""
        if obj in self._memo:
            if self._memo[obj] is None:
                raise ValidationError(
                    f"{obj} is a Node inside a loop with no neurons in it, which NIR "
                    "cannot express",
                    attr="network",
                    obj=obj,
                )
            return self._memo[obj]
        if isinstance(obj, nengo.Ensemble) or obj in self.inputs:
            return [_Term(obj, np.eye(obj.size_out), 0, None)]
        if self._constant(obj):
            return [_Term("constant", obj.output.reshape(-1, 1).astype(float), 0, None)]
        if obj.output is not None:
            raise ValidationError(
                f"{obj} computes a function, which NIR cannot express; give it as an "
                "input, or compute it with neurons",
                attr="network",
                obj=obj,
            )
        self._memo[obj] = None
        terms = []
        for conn in self.into[obj]:
            post = _selector(obj.size_in, conn.post_slice).T
            terms.extend(self._through(conn, post))
        self._memo[obj] = terms
        return terms

    def _through(self, conn, post):
        """Terms of ``post @ conn's output`` (``post`` maps conn.size_out)."""
        delay, tau = _synapse(conn)
        weights = self.model.params[conn].weights
        weights = np.asarray(1.0 if weights is None else weights, dtype=float)
        if not np.any(weights):
            # carries nothing: such as a neural memory's non-finite latch
            # (LinearNetwork.nonfinite), which only matters for NaN input, and
            # what a NIR consumer gets is finite
            return []
        pre = conn.pre_obj
        if isinstance(pre, nengo.ensemble.Neurons):
            ens = pre.ensemble
            sel = _selector(ens.n_neurons, conn.pre_slice)
            matrix = (
                weights if weights.ndim == 2 else weights * np.eye(len(sel))
            ) @ sel
            return [_Term(ens, post @ matrix, delay, tau)]
        if isinstance(pre, nengo.Ensemble):  # decoded: weights are T @ decoders
            return [_Term(pre, post @ weights, delay, tau)]
        sel = _selector(pre.size_out, conn.pre_slice)
        transform = (
            weights if weights.ndim == 2 else weights * np.eye(conn.size_out)
        ) @ sel
        out = []
        for term in self._value(pre):
            if term.delay and delay or (term.tau is not None and tau is not None):
                raise ValidationError(
                    f"{conn} adds a synapse to a path that already has one; NIR "
                    "populations have one synapse each",
                    attr="synapse",
                    obj=conn,
                )
            out.append(
                _Term(
                    term.source,
                    post @ transform @ term.matrix,
                    term.delay + delay,
                    term.tau if tau is None else tau,
                )
            )
        return out

    def _sink_terms(self, target):
        """Terms of ``target``'s input current (ensemble) or value (node)."""
        if isinstance(target, nengo.Ensemble):
            built = self.model.params[target]
            terms = []
            for conn in self.into[target]:
                post = (
                    built.scaled_encoders @ _selector(target.size_in, conn.post_slice).T
                )
                terms.extend(self._through(conn, post))
            for conn in self.into[target.neurons]:
                post = (
                    built.gain[:, None] * _selector(target.n_neurons, conn.post_slice).T
                )
                terms.extend(self._through(conn, post))
            return terms
        if isinstance(target, nengo.Node):
            if target in self.inputs:
                return [_Term(target, np.eye(target.size_out), 0, None)]
            return self._value(target)
        raise ValidationError(
            f"must be a Node or an Ensemble, got {target!r}", attr="outputs"
        )

    def export(self, metadata):
        import nir

        dt = self.dt
        sizes = [ens.n_neurons for ens in self.ensembles]
        offsets = dict(zip(self.ensembles, np.cumsum([0] + sizes[:-1])))
        n = int(sum(sizes))
        n_in = sum(node.size_out for node in self.inputs)
        in_offsets = dict(
            zip(self.inputs, np.cumsum([0] + [x.size_out for x in self.inputs[:-1]]))
        )
        w_in, w_rec, bias = np.zeros((n, n_in)), np.zeros((n, n)), np.zeros(n)
        taus, input_delays = [], set()
        for ens in self.ensembles:
            rows = slice(offsets[ens], offsets[ens] + ens.n_neurons)
            terms = self._sink_terms(ens)
            syn = {t.tau for t in terms if t.source != "constant"}
            if len(syn) > 1:
                raise ValidationError(
                    f"{ens} receives input through unequal synapses "
                    f"{sorted(map(str, syn))}; a NIR neuron has one synapse: give all "
                    "its input connections the same synapse",
                    attr="synapse",
                    obj=ens,
                )
            tau = syn.pop() if syn else None
            if isinstance(ens.neuron_type, CubaLIF) and tau is not None:
                raise ValidationError(
                    f"{ens} has CubaLIF neurons, which filter their input themselves; "
                    "connections into them take synapse=None (or 0 to close a loop)",
                    attr="synapse",
                    obj=ens,
                )
            taus.append(tau)
            bias[rows] += np.asarray(self.model.params[ens].bias, dtype=float)
            for t in terms:
                if t.source == "constant":
                    bias[rows] += t.matrix[:, 0]
                elif t.source in self.inputs:
                    input_delays.add(t.delay)
                    cols = slice(
                        in_offsets[t.source], in_offsets[t.source] + t.source.size_out
                    )
                    w_in[rows, cols] += t.matrix
                else:
                    if not self.approximate and t.delay != 1:
                        delay = f"a delay of {t.delay} steps" if t.delay else "no delay"
                        raise ValidationError(
                            f"the connection from {t.source} to {ens} has {delay}; "
                            "NIR consumers delay a loop between neurons by one step, "
                            "so every connection between CubaLIF ensembles takes "
                            "synapse=0",
                            attr="synapse",
                            obj=ens,
                        )
                    cols = slice(
                        offsets[t.source], offsets[t.source] + t.source.n_neurons
                    )
                    w_rec[rows, cols] += self._spike_scale(t.source) * t.matrix
        if len(input_delays) > 1:
            raise ValidationError(
                "the inputs reach the neurons with unequal delays, which NIR cannot "
                "express; give every input connection the same synapse",
                attr="inputs",
                obj=self.network,
            )
        input_delay = input_delays.pop() if input_delays else 0
        # readouts
        out_sizes = [o.size_out for o in self.outputs]
        n_out = int(sum(out_sizes))
        w_out = np.zeros((n_out, n))
        readout_taus, start = [], 0
        for target, size in zip(self.outputs, out_sizes):
            terms = self._sink_terms(target)
            syn = {t.tau for t in terms if t.source != "constant"}
            if len(syn) > 1:
                raise ValidationError(
                    f"{target} is read out through unequal synapses; give its "
                    "connections the same synapse",
                    attr="outputs",
                    obj=target,
                )
            readout_taus.append(syn.pop() if syn else None)
            for t in terms:
                if not isinstance(t.source, nengo.Ensemble):
                    raise ValidationError(
                        f"{target} depends on {t.source} other than through neurons, "
                        "which NIR outputs here cannot carry; read out neurons only",
                        attr="outputs",
                        obj=target,
                    )
                cols = slice(offsets[t.source], offsets[t.source] + t.source.n_neurons)
                w_out[start : start + size, cols] += (
                    self._spike_scale(t.source) * t.matrix
                )
            start += size
        # names in alphabetical order of execution: nir.read returns the nodes
        # sorted, and Norse 1.1.0 returns its second-to-last node's output
        nodes = {"a_input": nir.Input(input_type=np.array([n_in]))}
        nodes["b_input_weights"] = nir.Affine(weight=w_in, bias=bias)
        nodes["c_neurons"] = self._neurons(taus)
        edges = [("a_input", "b_input_weights"), ("b_input_weights", "c_neurons")]
        if np.any(w_rec):
            nodes["d_recurrent_weights"] = nir.Linear(weight=w_rec)
            edges += [
                ("c_neurons", "d_recurrent_weights"),
                ("d_recurrent_weights", "c_neurons"),
            ]
        nodes["e_readout"] = nir.Linear(weight=w_out)
        nodes["f_output"] = nir.Output(output_type=np.array([n_out]))
        edges += [("c_neurons", "e_readout"), ("e_readout", "f_output")]
        meta = {
            "nengo_lmu_version": version,
            "dt": dt,
            "spike": "1 per step",
            "input_delay_steps": int(input_delay),
            "inputs": [str(x.label or x) for x in self.inputs],
            "input_sizes": np.array([x.size_out for x in self.inputs], dtype=int),
            "outputs": [str(o.label or o) for o in self.outputs],
            "output_sizes": np.array(out_sizes, dtype=int),
            "readout_tau": np.array(
                [np.nan if t is None else t for t in readout_taus], dtype=float
            ),
            "populations": [str(e.label or e) for e in self.ensembles],
            "population_sizes": np.array(sizes, dtype=int),
            "approximate": int(self.approximate),
        }
        memories = [
            x
            for x in [self.network] + self.network.all_networks
            if hasattr(x, "theta") and hasattr(x, "order")
        ]
        if memories:
            m = memories[0]
            meta.update(theta=float(m.theta), order=int(m.order))
            meta["realization"] = str(getattr(m, "realization", "") or "")
        meta.update(metadata or {})
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)

    def _spike_scale(self, ens):
        return getattr(ens.neuron_type, "amplitude", 1.0) / self.dt

    def _neurons(self, taus):
        import nir

        parts = {k: [] for k in ("tau_syn", "tau_mem", "r")}
        for ens, tau in zip(self.ensembles, taus):
            nt = ens.neuron_type
            if isinstance(nt, CubaLIF):
                values = (nt.tau_syn, nt.tau_mem, 1.0)
            else:
                # the same pole with Euler; tau_syn = dt passes the input through
                tau_syn = (
                    self.dt if tau is None else self.dt / -np.expm1(-self.dt / tau)
                )
                if isinstance(nt, nengo.LIF):
                    values = (tau_syn, nt.tau_rc, 1.0)
                else:
                    values = (tau_syn, IF_TAU, IF_TAU)
            for key, value in zip(parts, values):
                parts[key].append(np.full(ens.n_neurons, float(value)))
        p = {k: np.concatenate(v) for k, v in parts.items()}
        ones = np.ones_like(p["r"])
        return nir.CubaLIF(
            tau_syn=p["tau_syn"],
            tau_mem=p["tau_mem"],
            r=p["r"],
            v_leak=0 * ones,
            v_threshold=ones,
            v_reset=0 * ones,
            w_in=ones,
        )


def to_nir(
    network, dt=0.001, inputs=None, outputs=None, approximate=False, metadata=None
):
    """A NIR graph of a spiking Nengo network (a memory, an LMU cell, readouts).

    The graph has one shape, the one every NIR consumer reads the same way
    (Norse 1.1.0 included)::

        a_input -> b_input_weights (Affine) -> c_neurons (CubaLIF)
        c_neurons <-> d_recurrent_weights (Linear)
        c_neurons -> e_readout (Linear) -> f_output

    All Ensembles become one ``CubaLIF`` population (per-neuron time
    constants; their order and sizes are in the metadata). Every path into
    an ensemble (through passthrough Nodes, slices, transforms, decoders and
    encoders) is folded into neuron-to-neuron weights: from the inputs in
    ``b_input_weights`` (whose bias holds the neurons' biases and any constant
    Node), from neurons in ``d_recurrent_weights``, which consumers apply one
    step late. A spike is an input of 1 in NIR consumers and ``amplitude /
    dt`` in Nengo; weights are scaled accordingly. The ``inputs`` Nodes
    become one ``Input`` (outputs concatenated), the ``outputs`` one
    ``Output`` fed by the linear readout of the spikes (a readout's synapse
    is in the metadata, ``readout_tau``: filter the output with it).

    Exact for `CubaLIF` neurons (see `memory_options`) with ``synapse=None``
    on connections from the inputs and ``synapse=0`` between ensembles: the
    graph then computes what the Nengo network computes, spike for spike,
    with the input delayed by ``input_delay_steps`` (metadata). With
    ``approximate=True``, ``nengo.LIF`` and ``nengo.SpikingRectifiedLinear``
    ensembles with Lowpass synapses are exported too (the synapse's pole
    kept for Euler), losing what NIR cannot express: the refractory period,
    the voltage floor, the voltage carried past a spike, and Nengo's timing
    of feedforward synapses (every connection between ensembles is one step
    late).

    Everything is checked before the graph is made: learning rules, Nodes
    computing functions (inside a loop or not), synapses other than Lowpass,
    unequal synapses into one ensemble, connections between CubaLIF
    ensembles without the one-step delay, non-spiking neurons and neurons
    without NIR counterpart raise a ValidationError naming the object.

    Parameters
    ----------
    network : nengo.Network
    dt : float
        The step the network was designed for (decoders are solved at build).
    inputs : list of nengo.Node, optional
        Default: every Node with no input that is not a constant.
    outputs : list of nengo.Node, optional
        Default: the Nodes the network probes (other than neurons
        and inputs).
    approximate : bool
        Allow Nengo's LIF and SpikingRectifiedLinear (see above).
    metadata : dict, optional
        Added to the graph's metadata (which holds dt, theta, order,
        realization of the first LMU memory found, and this library's version).

    Returns
    -------
    graph : nir.NIRGraph

    Examples
    --------
    >>> import nir
    >>> with nengo.Network(seed=0) as net:
    ...     stim = nengo.Node(np.sin)
    ...     memory = LMUMemory(1.0, 4, neurons_per_dimension=50, **memory_options())
    ...     nengo.Connection(stim, memory.input, synapse=None)
    ...     out = memory.add_delay_output(1.0)
    >>> graph = to_nir(net, outputs=[out])  # doctest: +SKIP
    >>> nir.write("memory.nir", graph)  # doctest: +SKIP
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    dt = check_positive_finite(dt, "dt")
    exporter = _Exporter(network, dt, inputs, outputs, bool(approximate))
    return exporter.export(metadata)
