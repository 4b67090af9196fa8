"""Weights and seeds of `.LMU`: the initializers (KerasLMU's names, arrays or
Nengo distributions), the seed an LMU inherits from the networks enclosing
it, and the explicit seeds that keep its connections apart from NengoDL's
probe seeds.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

INITIALIZERS = ("glorot_uniform", "orthogonal", "zeros")


def make_weights(initializer, shape, rng, attr, obj=None):
    """Weights of ``shape`` from an initializer.

    ``initializer`` is an array of that shape (used as is), a
    `nengo.dists.Distribution` (sampled), or one of the names
    ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"`` (as in Keras).
    """
    if isinstance(initializer, str):
        if initializer == "zeros":
            return np.zeros(shape)
        if initializer == "glorot_uniform":
            fan_in, fan_out = (
                (shape[0], shape[-1]) if len(shape) == 2 else (1, shape[0])
            )
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, size=shape)
        if initializer == "orthogonal":
            if len(shape) != 2:
                raise ValidationError(
                    "'orthogonal' needs a 2-D weight", attr=attr, obj=obj
                )
            flat = rng.normal(size=(max(shape), min(shape)))
            q, r = np.linalg.qr(flat)
            q *= np.sign(np.diag(r))  # make the decomposition unique
            return q if shape[0] >= shape[1] else q.T
        raise ValidationError(
            f"must be one of {INITIALIZERS}, an array or a nengo Distribution, "
            f"got {initializer!r}",
            attr=attr,
            obj=obj,
        )
    if isinstance(initializer, nengo.dists.Distribution):
        return (
            initializer.sample(*shape, rng=rng)
            if len(shape) == 2
            else (initializer.sample(shape[0], rng=rng))
        )
    try:
        weights = np.array(initializer, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(
            f"must be one of {INITIALIZERS}, an array or a nengo Distribution, "
            f"got {type(initializer).__name__}",
            attr=attr,
            obj=obj,
        ) from None
    if weights.shape != tuple(shape):
        raise ValidationError(
            f"must have shape {tuple(shape)}, got {weights.shape}", attr=attr, obj=obj
        )
    if not np.all(np.isfinite(weights)):
        raise ValidationError("must contain only finite values", attr=attr, obj=obj)
    return weights


def inherited_seed(network):
    """A seed for ``network``'s own random draws derived from the nearest
    seeded network enclosing it (``nengo.Network.context``) and its place
    there, or None if no enclosing network has a seed.

    Nengo seeds a network's objects when it builds them; an LMU draws its
    initial weights when it is made, so it takes its seed from the context:
    the seed of the nearest enclosing network with one, and the index of
    each network on the way down among its parent's subnetworks. The same
    model code gives the same weights on every run.
    """
    path = []
    child = network
    for parent in reversed(nengo.Network.context):
        if parent is child:
            continue
        subnets = parent.networks
        index = next((i for i, net in enumerate(subnets) if net is child), len(subnets))
        path.append(index)
        if parent.seed is not None:
            state = np.random.SeedSequence([int(parent.seed)] + path[::-1])
            return int(state.generate_state(1)[0] % DRAWN_SEED_LIMIT)
        child = parent
    return None


#: Seeds Nengo draws for objects are below this; explicit seeds may go up to
#: ``2**32 - 1``.
DRAWN_SEED_LIMIT = np.iinfo(np.int32).max


def protect_from_probe_seeds(connections, rng):
    """Give ``connections`` explicit seeds that no probe can be assigned.

    NengoDL (3.6) finds the connections that it builds for probes by their
    seed, and makes every connection whose seed equals a probe's seed
    untrainable. Nengo draws each network's seeds from a random stream seeded
    by the network's seed, so a subnetwork with the same seed as its parent
    (``Network(seed=0)`` holding ``LMU(..., seed=0)``) repeats the parent's
    seeds, and one of its weights then silently never trains. Seeds at or
    above `DRAWN_SEED_LIMIT` are never drawn, so these connections cannot
    collide. Only connections whose seed is unused are changed (those not
    decoded from an Ensemble, whose eval points the seed would pick).
    """
    for conn in connections:
        if conn.seed is None and not isinstance(conn.pre_obj, nengo.Ensemble):
            conn.seed = DRAWN_SEED_LIMIT + int(rng.randint(DRAWN_SEED_LIMIT))
