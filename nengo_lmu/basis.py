"""The shifted Legendre window basis and the readouts of the LMU memory.

The state ``m(t)`` of a `~nengo_lmu.systems.LegendreDelay` of window
``theta`` and ``order`` coefficients approximates the input's recent past as

    u(t - r theta) ~= sum_i P_i(2 r - 1) m_i(t),    0 <= r <= 1,

where ``P_i`` is the Legendre polynomial of degree ``i``, so ``P_i(2 r - 1)``
is the shifted Legendre polynomial on ``[0, 1]``. The readouts here are the
rows of that sum: matrices that map the memory state to delayed inputs.
"""

import numpy as np

from nengo_lmu._validation import check_fraction, check_order


def _shifted_legendre(order, r):
    """Shifted Legendre polynomials ``P_i(2 r - 1)`` for ``i < order``,
    shape ``(len(r), order)``."""
    order = check_order(order)
    x = 2 * check_fraction(r) - 1
    values = np.empty((x.size, order))
    values[:, 0] = 1.0
    if order > 1:
        values[:, 1] = x
    # Bonnet's recursion, (i + 1) P_{i+1} = (2i + 1) x P_i - i P_{i-1}: stable on
    # [-1, 1] for any order, unlike summing the power series.
    for i in range(1, order - 1):
        values[:, i + 1] = ((2 * i + 1) * x * values[:, i] - i * values[:, i - 1]) / (
            i + 1
        )
    return values


def delay_readout(order, r):
    """Readout rows that decode ``u(t - r theta)`` from the memory state.

    Row ``k`` holds the shifted Legendre polynomials at ``r[k]``:
    ``C[k, i] = P_i(2 r[k] - 1)``.

    Parameters
    ----------
    order : int
        Order of the memory (>= 1).
    r : float or array_like
        Delay(s) as fractions of the window ``theta``, each in ``[0, 1]``:
        0 is the current input, 1 the input ``theta`` seconds ago.

    Returns
    -------
    C : ndarray, shape (len(r), order)
        One row per delay; use it as a Connection ``transform`` or as the
        ``C`` of a `~nengo_lmu.systems.LinearSystem`.

    Examples
    --------
    >>> delay_readout(4, 1.0)
    array([[1., 1., 1., 1.]])
    """
    return _shifted_legendre(order, r)


def window_readout(order, n_points):
    """Readout rows that decode the whole window at ``n_points`` evenly spaced
    delays, from ``u(t)`` (first row) to ``u(t - theta)`` (last row).

    Returns
    -------
    C : ndarray, shape (n_points, order)
    """
    return delay_readout(order, np.linspace(0, 1, _check_points(n_points)))


def legendre_window_basis(order, n_points=200):
    """The basis functions of the window, for plots.

    Returns
    -------
    r : ndarray, shape (n_points,)
        Delays as fractions of ``theta``, from 0 to 1.
    basis : ndarray, shape (n_points, order)
        ``basis[:, i]`` is the shifted Legendre polynomial ``P_i(2 r - 1)``:
        how much state ``i`` contributes to the input ``r theta`` ago.
    """
    r = np.linspace(0, 1, _check_points(n_points))
    return r, _shifted_legendre(order, r)


def _check_points(n_points):
    # n_points is a count, so it follows the same rules as an order
    return check_order(n_points, attr="n_points", maximum=10**6)
