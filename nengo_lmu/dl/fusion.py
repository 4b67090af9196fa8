"""A NengoDL graph simplification that fuses a connection's two operators into one.

Nengo builds every connection with a transform as two operators: a matrix
product into the connection's own ``weighted`` signal, then a copy of that
signal into the post object's input. NengoDL runs both at every simulated
step (forward and backward when training), so in a small recurrent network,
such as an LMU with a few dozen units, these copies are a good part of each
step's work. `fuse_dot_copies` writes the product straight into the copy's
target where nothing else uses the intermediate signal.

`nengo_lmu.dl.configure_training` adds it to NengoDL's default
simplifications; pass it yourself with ``nengo_dl.configure_settings(
simplifications=nengo_dl.graph_optimizer.default_simplifications +
(fuse_dot_copies,))``.

NengoDL is imported only when the function runs.
"""

from nengo.builder.operator import Copy, DotInc


def fuse_dot_copies(operators):
    """Replace ``w = A x`` followed by ``y (+)= w`` with ``y (+)= A x``.

    A NengoDL simplification (a function from a list of operators to a list
    of operators, see ``nengo_dl.configure_settings(simplifications=...)``).
    A pair is fused only when ``w`` is a whole signal (not a view) that one
    ``DotSet`` sets, nothing increments or updates, and the copy alone reads
    (so probes on a connection's weighted output keep it), and when the copy
    takes all of ``w`` into a target of the same shape. The result of the
    simulation is unchanged; the signal ``w`` disappears from the graph.

    Parameters
    ----------
    operators : list of nengo.builder.Operator

    Returns
    -------
    list of nengo.builder.Operator
        The operators, with each fused pair replaced by one ``DotInc`` (copy
        with ``inc=True``) or NengoDL ``DotSet`` (plain copy), in the place
        of the product.
    """
    from nengo_dl.op_builders import DotSet  # pylint: disable=import-outside-toplevel

    setters, counts = {}, {}
    for op in operators:
        for sig in op.sets:
            setters.setdefault(sig.base, []).append(op)
        for sig in op.all_signals:
            counts[sig.base] = counts.get(sig.base, 0) + 1

    fused = {}  # product op -> replacement; copy op -> None (dropped)
    for op in operators:
        if not isinstance(op, Copy) or op.src_slice is not None:
            continue
        if op.dst_slice is not None:
            continue
        w = op.src
        if w.is_view or w.shape != op.dst.shape:
            continue
        dots = setters.get(w, [])
        if len(dots) != 1 or type(dots[0]) is not DotSet or dots[0] in fused:
            continue
        dot = dots[0]
        # w appears exactly twice: set by the product, read by the copy
        if dot.Y is not w or counts[w] != 2 or w in (dot.A.base, dot.X.base):
            continue
        make = DotInc if op.inc else DotSet
        fused[dot] = make(dot.A, dot.X, op.dst, tag=dot.tag)
        fused[op] = None

    if not fused:
        return operators
    return [fused.get(op, op) for op in operators if fused.get(op, op) is not None]
