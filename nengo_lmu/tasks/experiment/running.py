"""Running sequences on a backend, and copying trained weights into a twin."""

import copy
import warnings

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_choice, check_count, check_positive_finite
from nengo_lmu.networks import LMU
from nengo_lmu.tasks.experiment.training import _predict, _sequence_parts, _sequences

#: Backends of `run_sequences`: Nengo's reference simulator, NengoDL and the
#: NengoLoihi emulator
BACKENDS = ("nengo", "dl", "loihi")

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
