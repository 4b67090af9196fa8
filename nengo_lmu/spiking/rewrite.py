"""Rewriting a built-up (not yet simulated) Nengo network in place.

The helpers `to_spiking` and the tanh pairs use to replace objects inside a
network and its subnetworks while keeping their order and every attribute
that points at them; `base_object` is also how `nengo_lmu.loihi` finds the
object a connection end belongs to.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError


def is_neurons_of(obj, ens):
    return isinstance(obj, nengo.ensemble.Neurons) and obj.ensemble is ens


def base_object(obj):
    """The Ensemble or Node a connection end (or probe target) belongs to:
    views and ``.neurons`` give their ensemble; anything else gives None."""
    if isinstance(obj, nengo.base.ObjView):
        obj = obj.obj
    if isinstance(obj, nengo.ensemble.Neurons):
        obj = obj.ensemble
    return obj if isinstance(obj, (nengo.Ensemble, nengo.Node)) else None


def dense_matrix(conn):
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


def put_in_place(objects, old, new):
    """Put ``new`` (just added at the end of ``objects``) where ``old`` was."""
    objects.remove(new)
    objects[objects.index(old)] = new


def replace_references(net, replaced):
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
