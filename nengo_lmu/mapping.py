"""Mapping linear systems onto synapses, and the realisations that suit neurons.

A recurrent Nengo network has no integrators: each state is the output of a
synapse ``h`` driven by a decoded sum ``v = Ahat x + Bhat u``. `ss2sim` finds the
``Ahat`` and ``Bhat`` that make ``x = h * v`` follow a given system (the NEF's
Principle 3 and its discrete and higher-order generalisations, Voelker and
Eliasmith 2018).

Similarity transforms leave the transfer function unchanged but change what
each state holds. `balanced_realization` and `scaled_realization` choose states
that neurons represent well: `scaled_realization` makes each state's range fit
an ensemble's radius for a stated class of input.
"""

import nengo
import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.signal
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite, check_synapse
from nengo_lmu.systems import LinearSystem


def _trim(coefficients):
    """Drop leading (highest-power) zeros of a polynomial."""
    coefficients = np.atleast_1d(np.asarray(coefficients, dtype=float))
    nonzero = np.flatnonzero(np.abs(coefficients) > 1e-14 * np.abs(coefficients).max())
    return coefficients[nonzero[0] :]


def synapse_polynomial(synapse, dt=None, zero_order=None):
    """Write the synapse as ``1 / c(p)`` and return ``c``'s coefficients.

    ``p`` is ``s`` (analog, ``dt=None``) or ``z`` (the synapse discretized at
    ``dt`` by its own method, as the Nengo simulator does). Coefficients are
    in increasing powers: ``c(p) = c[0] + c[1] p + ...``.

    A synapse with zeros, ``h = n(p) / d(p)`` (``nengo.Alpha`` and
    ``nengo.DoubleExp`` discretized by zero-order hold have one, near
    ``z = -1``), is no ``1 / c(p)``: no constant recurrent transform makes up
    for its zeros exactly, and with ``zero_order=None`` (default) it raises a
    ValidationError. With ``zero_order=K`` the returned ``c`` is ``d(p)``
    times the Taylor polynomial of degree ``K`` of ``1 / n(p)`` about
    ``p0`` (``z = 1``, or ``s = 0`` for analog), so that ``h c = 1 +
    O((p - p0)^(K + 1))``: exact at DC, and close for the slow dynamics a
    network realises (``z`` near 1). The inverse cannot be exact: the zero of
    a zero-order-hold Alpha lies just outside the unit circle, so inverting
    it would be unstable.

    Parameters
    ----------
    synapse : nengo.LinearFilter
    dt : float, optional
        Time step for the discrete polynomial; None for the analog one.
    zero_order : int, optional
        Taylor degree of the inverse of the synapse's zeros; None refuses
        synapses with zeros.

    Returns
    -------
    c : ndarray
        Coefficients in increasing powers of ``p``.
    """
    check_synapse(synapse)
    if zero_order is not None and (
        isinstance(zero_order, bool)
        or not isinstance(zero_order, (int, np.integer))
        or zero_order < 0
    ):
        raise ValidationError(
            f"must be None or an integer >= 0, got {zero_order!r}", attr="zero_order"
        )
    num, den = np.asarray(synapse.num, float), np.asarray(synapse.den, float)
    if synapse.analog and dt is not None:
        try:
            with np.errstate(all="ignore"):
                num, den, _ = scipy.signal.cont2discrete(
                    (num, den), dt, method=synapse.method
                )
        except (ValueError, np.linalg.LinAlgError):  # inf/NaN after overflow
            num = den = np.array([np.nan])
        num = np.ravel(num)
    elif not synapse.analog and dt is None:
        raise ValidationError(
            "a discrete synapse needs the simulator's dt to be given", attr="dt"
        )
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den)) and np.any(num != 0)):
        where = "" if dt is None else f" discretized at dt={dt:g}"
        raise ValidationError(
            f"{synapse!r}{where} is out of floating-point range (a time constant "
            "far too small or too large for this dt)",
            attr="synapse",
        )
    num, den = _trim(num), _trim(den)
    if num.size == 1:
        return den[::-1] / num[0]
    if zero_order is None:
        where = "analog" if dt is None else f"discretized at dt={dt:g}"
        raise ValidationError(
            f"must have no zeros ({where}), got numerator {num}: only all-pole "
            "synapses (Lowpass; Alpha and other LinearFilters with a constant "
            "numerator, with dt=None) can be mapped exactly; give zero_order to "
            "map one with zeros approximately",
            attr="synapse",
        )
    return _inverse_zeros(num[::-1], den[::-1], 0.0 if dt is None else 1.0, zero_order)


def _inverse_zeros(num, den, p0, order):
    """``den(p) R(p)`` with ``R`` the Taylor polynomial of degree ``order`` of
    ``1 / num(p)`` about ``p0`` (coefficients in increasing powers)."""
    poly = np.polynomial.Polynomial
    # num in powers of e = p - p0
    m = poly(num)(poly([p0, 1.0])).coef
    m = np.concatenate([m, np.zeros(order + 1)])
    if abs(m[0]) <= 1e-14 * np.abs(m).max():
        raise ValidationError(
            f"has a zero at p={p0:g} (no gain at DC); it cannot be inverted",
            attr="synapse",
        )
    # 1 / m(e) = sum_k r_k e^k:  r_0 = 1 / m_0,  r_k = -sum_{i=1}^k m_i r_{k-i} / m_0
    r = np.zeros(order + 1)
    r[0] = 1.0 / m[0]
    for k in range(1, order + 1):
        r[k] = -np.dot(m[1 : k + 1], r[k - 1 :: -1][:k]) / m[0]
    R = poly(r)(poly([-p0, 1.0]))
    return (poly(den) * R).coef


def double_exp(tau1, tau2):
    """A double-exponential synapse, ``1 / ((tau1 s + 1) (tau2 s + 1))``.

    The difference of two exponentials (rise ``min(tau1, tau2)``, decay
    ``max(tau1, tau2)``) with unit gain at DC, as a `nengo.LinearFilter`
    (Nengo has no DoubleExp of its own); ``double_exp(tau, tau)`` is
    ``nengo.Alpha(tau)``. Discretised by zero-order hold, as the simulator
    does, it has a zero, which `ss2sim` handles with ``zero_order``.

    Parameters
    ----------
    tau1, tau2 : float
        Time constants in seconds (> 0).

    Examples
    --------
    >>> synapse = double_exp(0.1, 0.02)
    """
    tau1 = check_positive_finite(tau1, "tau1")
    tau2 = check_positive_finite(tau2, "tau2")
    return nengo.LinearFilter([1.0], [tau1 * tau2, tau1 + tau2, 1.0])


def _matrix_polynomial(c, A):
    """``c[0] I + c[1] A + c[2] A^2 + ...`` by Horner's rule."""
    out = c[-1] * np.eye(A.shape[0])
    for ci in c[-2::-1]:
        out = out @ A + ci * np.eye(A.shape[0])
    return out


def ss2sim(system, synapse, dt=None, zero_order=None):
    """Map ``system`` onto ``synapse``: the transforms of a recurrent network.

    Returns a `LinearSystem` ``(Ahat, Bhat, C, D)``: connecting a state
    ``x`` back to itself through ``synapse`` with transform ``Ahat``, and the
    input to it through the same synapse with transform ``Bhat``, makes ``x``
    follow ``system``.

    * Analog (``dt=None``), ``synapse = Lowpass(tau)``: Principle 3,
      ``Ahat = tau A + I``, ``Bhat = tau B``.
    * Discrete (``dt`` given; an analog system is discretized by zero-order
      hold first, giving ``Abar, Bbar``), ``synapse = Lowpass(tau)``:
      ``Ahat = (Abar - a I) / (1 - a)``, ``Bhat = Bbar / (1 - a)`` with
      ``a = exp(-dt / tau)``, exact step for step in the recurrence
      ``x[k+1] = a x[k] + (1 - a) (Ahat x[k] + Bhat u[k])``.
    * Higher-order all-pole synapses ``h = 1 / c(p)`` with
      ``c(p) = sum_i c_i p^i`` of degree ``q`` (for example ``nengo.Alpha``
      with ``dt=None``): ``Ahat = c(A)`` and the input term needs the input
      and its first ``q - 1`` derivatives (analog) or advances ``u[k + j]``
      (discrete): ``Bhat = [B_0, ..., B_{q-1}]`` with
      ``B_j = sum_{i > j} c_i A^(i-j-1) B``. ``Bhat``'s columns are grouped by
      ``j``; ``Bhat[:, :input_size]`` alone is exact only when ``q = 1``.
    * Synapses with zeros ``h = n(p) / d(p)`` (``nengo.Alpha`` or
      ``nengo.DoubleExp`` discretized by zero-order hold) with ``zero_order``
      given: as the all-pole case with ``c(p) = d(p) R(p)``, ``R`` the Taylor
      polynomial of ``1 / n(p)`` about ``z = 1`` (``s = 0``) to that degree
      (see `synapse_polynomial`). Approximate: exact at DC, with a relative
      error of order ``|z - 1|^(zero_order + 1)`` at the system's poles.

    Parameters
    ----------
    system : LinearSystem
        The system to realise; analog, or discrete with its ``dt``.
    synapse : nengo.LinearFilter
        The synapse of the recurrent and input connections.
    dt : float, optional
        Simulator time step. ``None`` (default) gives the analog mapping for an
        analog system; a discrete system uses its own ``dt``.
    zero_order : int, optional
        Map a synapse with zeros approximately, inverting its zeros to this
        Taylor degree; None (default) refuses such synapses.

    Returns
    -------
    mapped : LinearSystem
        Its ``A`` is ``Ahat``, its ``B`` is ``Bhat``; ``C`` and ``D`` are the
        system's (``D`` padded with zeros for the extra input columns).

    Examples
    --------
    >>> sys = LegendreDelay(theta=1.0, order=6)
    >>> mapped = ss2sim(sys, nengo.Lowpass(0.1), dt=0.001)
    """
    if not isinstance(system, LinearSystem):
        raise ValidationError(
            f"must be a LinearSystem, got {type(system).__name__}", attr="system"
        )
    check_synapse(synapse)
    if dt is None and not system.analog:
        dt = system.dt
    if dt is not None:
        dt = check_positive_finite(dt, "dt")
        if system.analog:
            system = system.discretize(dt)
        elif not np.isclose(system.dt, dt, rtol=1e-12):
            raise ValidationError(
                f"must equal the discrete system's dt={system.dt}, got {dt}",
                attr="dt",
            )
    c = synapse_polynomial(synapse, dt, zero_order=zero_order)
    A, B, C, D = system.ss
    q = len(c) - 1
    if q < 1:
        raise ValidationError(
            "must have dynamics (a pole); a pure gain cannot realise a system",
            attr="synapse",
        )
    Ahat = _matrix_polynomial(c, A)
    Bhat = np.hstack(
        [_matrix_polynomial(c[j + 1 :], A) @ B for j in range(q)]
    )  # B_j = sum_{i > j} c_i A^(i - j - 1) B
    Dhat = np.hstack([D] + [np.zeros_like(D)] * (q - 1))
    return LinearSystem(Ahat, Bhat, C, Dhat, dt=dt)


def _gramians(system):
    A, B, C, _ = system.ss
    poles = np.linalg.eigvals(A)
    stable = np.all(poles.real < 0) if system.analog else np.all(np.abs(poles) < 1)
    if not stable:
        raise ValidationError("must be stable to have gramians", attr="system")
    if system.analog:
        Wc = scipy.linalg.solve_continuous_lyapunov(A, -B @ B.T)
        Wo = scipy.linalg.solve_continuous_lyapunov(A.T, -C.T @ C)
    else:
        Wc = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
        Wo = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C)
    return Wc, Wo


def _psd_sqrt(W):
    """``L`` with ``W = L L^T`` for a symmetric positive semi-definite ``W``."""
    w, V = np.linalg.eigh(0.5 * (W + W.T))
    return V * np.sqrt(np.clip(w, 0, None))


def balanced_realization(system):
    """The balanced realisation: both gramians equal and diagonal.

    Each state is then as easy to drive as to observe, and the states are
    ordered by their Hankel singular values (most important first).

    Parameters
    ----------
    system : LinearSystem
        Stable and minimal (controllable and observable).

    Returns
    -------
    balanced : LinearSystem
        ``system.transform(T)``.
    T : ndarray
        The transform, original state ``x = T z``.
    """
    Wc, Wo = _gramians(system)
    Lc, Lo = _psd_sqrt(Wc), _psd_sqrt(Wo)
    U, s, Vt = np.linalg.svd(Lo.T @ Lc)
    if s[-1] <= 1e-13 * s[0]:
        raise ValidationError(
            "must be minimal (controllable and observable) to be balanced; "
            f"its smallest Hankel singular value is {s[-1]:.3g}",
            attr="system",
        )
    T = Lc @ Vt.T / np.sqrt(s)
    return system.transform(T), T


def balanced_truncation(system, order):
    """Model reduction: the balanced realisation's first ``order`` states.

    Square-root balanced truncation: the states of the balanced realisation
    (see `balanced_realization`) are ordered by their Hankel singular values
    ``sigma_i``, how much each takes part in the map from past inputs to
    future outputs; the reduced system keeps the ``order`` largest. It is
    stable, and its transfer function ``G_r`` is within the classic bound
    ``||G - G_r||_inf <= 2 sum_{i > order} sigma_i`` of the system's
    (analog or discrete). States that are uncontrollable or unobservable
    have ``sigma_i = 0``, so the system need not be minimal.

    Parameters
    ----------
    system : LinearSystem
        Stable, analog or discrete.
    order : int
        States to keep, from 1 to the number of states with
        ``sigma_i > 0``.

    Returns
    -------
    reduced : LinearSystem
        ``order`` states, the same inputs, outputs, ``D`` and ``dt``.
    hankel : ndarray
        All the system's Hankel singular values, largest first (the error
        bound is twice the sum of ``hankel[order:]``).

    Examples
    --------
    >>> reduced, hankel = balanced_truncation(LegendreDelay(1.0, 12), 6)
    >>> reduced.state_size
    6
    """
    if not isinstance(system, LinearSystem):
        raise ValidationError(
            f"must be a LinearSystem, got {type(system).__name__}", attr="system"
        )
    Wc, Wo = _gramians(system)
    Lc, Lo = _psd_sqrt(Wc), _psd_sqrt(Wo)
    U, hankel, Vt = np.linalg.svd(Lo.T @ Lc)
    positive = int(np.sum(hankel > 1e-13 * hankel[0])) if hankel[0] > 0 else 0
    if (
        isinstance(order, bool)
        or not isinstance(order, (int, np.integer))
        or not (1 <= order <= positive)
    ):
        raise ValidationError(
            f"must be an integer from 1 to {positive} (the number of states with a "
            f"nonzero Hankel singular value), got {order!r}",
            attr="order",
        )
    scale = 1.0 / np.sqrt(hankel[:order])
    T = Lc @ Vt[:order].T * scale  # x = T z
    Tinv = (scale[:, None] * U[:, :order].T) @ Lo.T  # z = Tinv x, Tinv T = I
    A, B, C, D = system.ss
    reduced = LinearSystem(Tinv @ A @ T, Tinv @ B, C @ T, D, dt=system.dt)
    return reduced, hankel


def state_covariance(system, input_rms, input_high, n_frequencies=4000):
    """Stationary covariance of the state for band-limited white noise input.

    The input class is that of ``nengo.processes.WhiteSignal(high=input_high,
    rms=input_rms)``: each input independent, with flat power from 0 to
    ``input_high`` Hz and root-mean-square ``input_rms``. The covariance is
    the integral of ``X(f) X(f)^*`` over that band, with ``X`` the frequency
    response from the input to the state.

    Returns
    -------
    cov : ndarray, shape (state_size, state_size)
    """
    input_rms = check_positive_finite(input_rms, "input_rms")
    input_high = check_positive_finite(input_high, "input_high")
    if not system.analog and input_high >= 0.5 / system.dt:
        raise ValidationError(
            f"must be below the Nyquist frequency {0.5 / system.dt:g} Hz",
            attr="input_high",
        )
    if not np.isfinite(2 * np.pi * input_high):
        raise ValidationError(f"is too large, got {input_high!r}", attr="input_high")
    freqs = np.linspace(0, input_high, n_frequencies)
    X = system.with_output(np.eye(system.state_size)).frequency_response(
        2 * np.pi * freqs
    )
    # power density per input: rms**2 spread over [0, high]
    integrand = np.einsum("fim,fjm->fij", X, X.conj()).real
    with np.errstate(all="ignore"):
        cov = np.float64(input_rms) ** 2 * (
            scipy.integrate.trapezoid(integrand, freqs, axis=0) / input_high
        )
    if not np.all(np.isfinite(cov)):
        raise ValidationError(
            f"is too large: the state covariance overflows for input_rms={input_rms:g}",
            attr="input_rms",
        )
    return cov


def scaled_realization(system, input_rms, input_high, radius=1.0, n_std=3.0):
    """Scale each state so that it stays within ``radius`` for a stated input.

    For band-limited white noise input (see `state_covariance`) each state of
    the returned system has standard deviation ``radius / n_std``, so it stays
    within ``radius`` except for excursions beyond ``n_std`` standard
    deviations. This is a diagonal similarity transform.

    Parameters
    ----------
    system : LinearSystem
    input_rms, input_high : float
        Root-mean-square and upper frequency (Hz) of the input class.
    radius : float
        Radius of the ensembles that will represent the states.
    n_std : float
        How many standard deviations fit within the radius.

    Returns
    -------
    scaled : LinearSystem
        ``system.transform(T)``.
    T : ndarray
        The diagonal transform, original state ``x = T z``.
    """
    radius = check_positive_finite(radius, "radius")
    n_std = check_positive_finite(n_std, "n_std")
    std = np.sqrt(np.diag(state_covariance(system, input_rms, input_high)))
    if np.any(std <= 1e-12 * std.max()):
        raise ValidationError(
            "has a state that this input does not reach; it cannot be scaled",
            attr="system",
        )
    T = np.diag(std * n_std / radius)
    return system.transform(T), T
