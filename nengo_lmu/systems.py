"""Linear time-invariant systems in state-space form.

Plain numpy and scipy: nothing here builds Nengo objects. A `LinearSystem` is
analog (``dt is None``)::

    dx/dt = A x + B u,    y = C x + D u

or discrete with time step ``dt``::

    x[k + 1] = A x[k] + B u[k],    y[k] = C x[k] + D u[k]

`LegendreDelay` is the LMU's memory: the Legendre ODEs whose state holds a
sliding window of the input. `PadeDelay` is the same transfer function in
controllable canonical form.
"""

import math
from fractions import Fraction

import numpy as np
import scipy.linalg
from nengo.exceptions import ValidationError

from nengo_lmu._validation import as_matrix, check_order, check_positive_finite

DISCRETIZE_METHODS = ("zoh", "euler", "bilinear")


class LinearSystem:
    """A linear time-invariant system ``(A, B, C, D)``, analog or discrete.

    The matrices are read-only copies (properties ``A``, ``B``, ``C``, ``D``,
    ``dt`` below).

    Parameters
    ----------
    A : array_like, shape (n, n)
        State matrix.
    B : array_like, shape (n, m)
        Input matrix. A 1-D array is taken as one column (one input).
    C : array_like, shape (p, n)
        Output matrix. A 1-D array is taken as one row (one output).
    D : array_like, shape (p, m), optional
        Feedthrough matrix; zeros by default.
    dt : float, optional
        Time step of a discrete system in seconds; ``None`` (default) for an
        analog system.

    Examples
    --------
    >>> sys = LinearSystem([[-1.0]], [[1.0]], [[1.0]])   # a unit lowpass
    >>> sys.discretize(0.001).analog
    False
    """

    def __init__(self, A, B, C, D=None, dt=None):
        A = as_matrix(A, "A", self)
        B = as_matrix(B, "B", self, vector_as="column")
        C = as_matrix(C, "C", self, vector_as="row")
        n = A.shape[0]
        if A.shape != (n, n) or n < 1:
            raise ValidationError(
                f"must be square with at least one state, got shape {A.shape}",
                attr="A",
                obj=self,
            )
        if B.shape[0] != n:
            raise ValidationError(
                f"must have {n} rows (the number of states in A), got shape {B.shape}",
                attr="B",
                obj=self,
            )
        if C.shape[1] != n:
            raise ValidationError(
                f"must have {n} columns (the number of states in A), "
                f"got shape {C.shape}",
                attr="C",
                obj=self,
            )
        if D is None:
            D = np.zeros((C.shape[0], B.shape[1]))
        D = as_matrix(D, "D", self, vector_as="row")
        if D.shape != (C.shape[0], B.shape[1]):
            raise ValidationError(
                f"must have shape (outputs, inputs) = {(C.shape[0], B.shape[1])}, "
                f"got {D.shape}",
                attr="D",
                obj=self,
            )
        if dt is not None:
            dt = check_positive_finite(dt, "dt", self)
        for name, mat in zip("ABCD", (A, B, C, D)):
            mat.setflags(write=False)
            setattr(self, f"_{name}", mat)
        self._dt = dt

    A = property(lambda self: self._A, doc="State matrix, shape (n, n).")
    B = property(lambda self: self._B, doc="Input matrix, shape (n, m).")
    C = property(lambda self: self._C, doc="Output matrix, shape (p, n).")
    D = property(lambda self: self._D, doc="Feedthrough matrix, shape (p, m).")
    dt = property(lambda self: self._dt, doc="Time step in seconds, None if analog.")

    @property
    def analog(self):
        """True for a continuous-time system (``dt is None``)."""
        return self._dt is None

    @property
    def state_size(self):
        """Number of states ``n``."""
        return self._A.shape[0]

    @property
    def input_size(self):
        """Number of inputs ``m``."""
        return self._B.shape[1]

    @property
    def output_size(self):
        """Number of outputs ``p``."""
        return self._C.shape[0]

    @property
    def ss(self):
        """The tuple ``(A, B, C, D)``."""
        return self._A, self._B, self._C, self._D

    def __repr__(self):
        kind = "analog" if self.analog else f"discrete, dt={self.dt:g}"
        return (
            f"{type(self).__name__}(states={self.state_size}, "
            f"inputs={self.input_size}, outputs={self.output_size}, {kind})"
        )

    def _with(self, A=None, B=None, C=None, D=None, dt="same"):
        """A plain LinearSystem with some matrices replaced."""
        return LinearSystem(
            self._A if A is None else A,
            self._B if B is None else B,
            self._C if C is None else C,
            self._D if D is None else D,
            dt=self._dt if dt == "same" else dt,
        )

    def with_output(self, C, D=None):
        """The same dynamics with a new output matrix (and feedthrough)."""
        C = np.atleast_2d(C)
        return self._with(
            C=C, D=np.zeros((C.shape[0], self.input_size)) if D is None else D
        )

    def allclose(self, other, rtol=1e-7, atol=1e-10):
        """True if ``other`` has the same time base and matrices within tolerance.

        This compares realisations, not transfer functions: two similar
        systems (see `transform`) are generally not ``allclose``.
        """
        if not isinstance(other, LinearSystem):
            return False
        if (self.dt is None) != (other.dt is None):
            return False
        if self.dt is not None and not np.isclose(self.dt, other.dt, rtol=1e-12):
            return False
        return all(
            a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)
            for a, b in zip(self.ss, other.ss)
        )

    def transform(self, T):
        """Similarity transform with the new state ``z`` given by ``x = T z``.

        Returns the system ``(T^-1 A T, T^-1 B, C T, D)``, which has the same
        transfer function.

        Parameters
        ----------
        T : array_like, shape (n, n)
            Invertible matrix.
        """
        T = as_matrix(T, "T", self)
        if T.shape != self._A.shape:
            raise ValidationError(
                f"must have shape {self._A.shape}, got {T.shape}", attr="T", obj=self
            )
        if np.linalg.cond(T) > 1e14:
            raise ValidationError("must be invertible", attr="T", obj=self)
        Tinv = np.linalg.inv(T)
        return self._with(A=Tinv @ self._A @ T, B=Tinv @ self._B, C=self._C @ T)

    def discretize(self, dt, method="zoh"):
        """The discrete system with time step ``dt`` by the given method.

        Parameters
        ----------
        dt : float
            Time step in seconds (> 0).
        method : {"zoh", "euler", "bilinear"}
            ``"zoh"``: zero-order hold on the input (exact for piecewise
            constant input). ``"euler"``: forward Euler,
            ``A -> I + dt A``, ``B -> dt B``. ``"bilinear"``: Tustin's method.
        """
        if not self.analog:
            raise ValidationError(
                f"system is already discrete (dt={self.dt}); only analog systems "
                "can be discretized",
                attr="dt",
                obj=self,
            )
        dt = check_positive_finite(dt, "dt", self)
        if method not in DISCRETIZE_METHODS:
            raise ValidationError(
                f"must be one of {DISCRETIZE_METHODS}, got {method!r}",
                attr="method",
                obj=self,
            )
        A, B, C, D = self.ss
        n, m = B.shape
        eye = np.eye(n)
        if method == "zoh":
            # exp([[A, B], [0, 0]] dt) = [[Abar, Bbar], [0, I]]
            block = np.zeros((n + m, n + m))
            with np.errstate(all="ignore"):
                block[:n, :n] = A * dt
                block[:n, n:] = B * dt
                expm = scipy.linalg.expm(block)
            self._check_discretized(dt, method, expm)
            return self._with(A=expm[:n, :n], B=expm[:n, n:], dt=dt)
        if method == "euler":
            with np.errstate(all="ignore"):
                Ad, Bd = eye + dt * A, dt * B
            self._check_discretized(dt, method, Ad, Bd)
            return self._with(A=Ad, B=Bd, dt=dt)
        # bilinear: s = (2 / dt) (z - 1) / (z + 1)
        with np.errstate(all="ignore"):
            lhs = eye - 0.5 * dt * A
            try:
                Ad = np.linalg.solve(lhs, eye + 0.5 * dt * A)
                Bd = np.linalg.solve(lhs, dt * B)
                Cd = np.linalg.solve(lhs.T, C.T).T
                Dd = D + 0.5 * C @ Bd
            except np.linalg.LinAlgError:  # singular, or inf/NaN after overflow
                Ad = Bd = Cd = Dd = np.full((1, 1), np.nan)
        self._check_discretized(dt, method, Ad, Bd, Cd, Dd)
        return self._with(A=Ad, B=Bd, C=Cd, D=Dd, dt=dt)

    def _check_discretized(self, dt, method, *matrices):
        """A discretisation that overflowed names ``dt``, not a matrix."""
        if not all(np.all(np.isfinite(m)) for m in matrices):
            with np.errstate(all="ignore"):
                rate = dt * np.abs(self._A).sum(axis=1).max()
            raise ValidationError(
                f"is too large for this system: the {method!r} discretisation at "
                f"dt={dt:g} overflows (dt times the largest rate of A is "
                f"{rate:.3g})",
                attr="dt",
                obj=self,
            )

    def frequency_response(self, omega):
        """Transfer function evaluated at angular frequencies ``omega`` (rad/s).

        Evaluates ``C (sI - A)^-1 B + D`` at ``s = i omega`` (analog) or
        ``z = exp(i omega dt)`` (discrete).

        Returns
        -------
        H : ndarray, shape (len(omega), output_size, input_size), complex
        """
        try:
            omega = np.atleast_1d(np.asarray(omega, dtype=float))
        except (TypeError, ValueError):
            omega = None
        if omega is None or omega.ndim != 1 or not np.all(np.isfinite(omega)):
            raise ValidationError(
                "must be a finite scalar or 1-D array", attr="omega", obj=self
            )
        s = 1j * omega if self.analog else np.exp(1j * omega * self.dt)
        A, B, C, D = self.ss
        # Eigendecomposition would be faster but is ill-conditioned for the
        # non-normal Legendre A; a solve per frequency is robust.
        eye = np.eye(self.state_size)
        H = np.empty((omega.size, self.output_size, self.input_size), dtype=complex)
        for k, sk in enumerate(s):
            try:
                H[k] = C @ np.linalg.solve(sk * eye - A, B) + D
            except np.linalg.LinAlgError:
                raise ValidationError(
                    f"contains a pole of the system ({omega[k]:g} rad/s), where "
                    "the transfer function is infinite",
                    attr="omega",
                    obj=self,
                ) from None
        return H

    def simulate(self, u, x0=None, dt=None, return_states=False):
        """Output (and states) for the input sequence ``u``.

        The convention is that of `scipy.signal.dlsim`: ``y[k] = C x[k] +
        D u[k]`` with ``x[k + 1] = A x[k] + B u[k]`` and ``x[0] = x0``. An
        analog system is first discretized with a zero-order hold at ``dt``
        (equal to `scipy.signal.lsim` with ``interp=False``).

        Parameters
        ----------
        u : array_like, shape (steps,) or (steps, input_size)
            Input sequence.
        x0 : array_like, shape (state_size,), optional
            Initial state, zeros by default.
        dt : float, optional
            Time step for an analog system (required then); for a discrete
            system it must be omitted or equal to its ``dt``.
        return_states : bool
            Also return the states ``x[0], ..., x[steps - 1]``.

        Returns
        -------
        y : ndarray, shape (steps, output_size)
        x : ndarray, shape (steps, state_size)
            Only if ``return_states``.
        """
        sys = self._discrete_for_simulation(dt)
        given = u
        try:
            u = np.asarray(u, dtype=float)
        except (TypeError, ValueError):
            u = None
        if u is not None and u.ndim == 1 and self.input_size == 1:
            u = u[:, None]
        if u is None or u.ndim != 2 or u.shape[1] != self.input_size:
            raise ValidationError(
                f"must be an array of numbers of shape (steps, {self.input_size}), "
                f"got {type(given).__name__ if u is None else u.shape}",
                attr="u",
                obj=self,
            )
        try:
            x = np.zeros(self.state_size) if x0 is None else np.array(x0, dtype=float)
        except (TypeError, ValueError):
            x = np.zeros(0)
        if x.shape != (self.state_size,):
            raise ValidationError(
                f"must have shape ({self.state_size},), got {x.shape}",
                attr="x0",
                obj=self,
            )
        A, B, C, D = sys.ss
        # all state updates at once for the input part, then a tight loop
        Bu = u @ B.T
        xs = np.empty((u.shape[0], self.state_size))
        for k in range(u.shape[0]):
            xs[k] = x
            x = A @ x + Bu[k]
        y = xs @ C.T + u @ D.T
        return (y, xs) if return_states else y

    def _discrete_for_simulation(self, dt):
        if self.analog:
            if dt is None:
                raise ValidationError(
                    "is required to simulate an analog system", attr="dt", obj=self
                )
            return self.discretize(dt)
        if dt is not None and not np.isclose(dt, self.dt, rtol=1e-12):
            raise ValidationError(
                f"must be omitted or equal to the system's dt={self.dt}, got {dt}",
                attr="dt",
                obj=self,
            )
        return self


def legendre_matrices(order):
    """The LMU's ``A`` (order x order) and ``B`` (order x 1), for ``theta = 1``.

    ``A[i, j] = (2i + 1) * (-1 if i < j else (-1)**(i - j + 1))`` and
    ``B[i] = (2i + 1) (-1)**i`` (Voelker, Kajic and Eliasmith, 2019).
    """
    order = check_order(order)
    i = np.arange(order)[:, None]
    j = np.arange(order)[None, :]
    A = (2 * i + 1) * np.where(i < j, -1.0, (-1.0) ** (i - j + 1))
    B = (2 * i + 1) * (-1.0) ** i
    return A.astype(float), B.astype(float).reshape(order, 1)


class LegendreDelay(LinearSystem):
    """The Legendre Memory Unit's memory, ``theta dm/dt = A m + B u``.

    Its state holds the last ``theta`` seconds of the input as coefficients of
    shifted Legendre polynomials; the output is the delayed input
    ``u(t - theta)`` (``C`` all ones, ``D = 0``). Other delays and whole
    windows are read out with `nengo_lmu.basis.delay_readout` and
    `nengo_lmu.basis.window_readout`. Its transfer function is the
    ``[order - 1 / order]`` Pade approximant of ``exp(-theta s)``.

    Parameters
    ----------
    theta : float
        Length of the window in seconds (> 0).
    order : int
        Number of Legendre coefficients (>= 1).

    Examples
    --------
    >>> sys = LegendreDelay(theta=1.0, order=6).discretize(dt=0.001)
    >>> sys.state_size
    6
    """

    def __init__(self, theta, order):
        self.theta = check_positive_finite(theta, "theta", self)
        self.order = check_order(order, "order", self)
        A, B = legendre_matrices(self.order)
        with np.errstate(all="ignore"):
            A, B = A / self.theta, B / self.theta
        if not np.all(np.isfinite(A)):
            raise ValidationError(
                f"is too small: A / theta overflows for theta={self.theta:g}",
                attr="theta",
                obj=self,
            )
        super().__init__(A, B, np.ones((1, self.order)))

    def __repr__(self):
        return f"LegendreDelay(theta={self.theta:g}, order={self.order})"


def pade_coefficients(theta, order):
    """Numerator and denominator of the ``[order-1/order]`` Pade approximant
    of ``exp(-theta s)``, highest power of ``s`` first (as in scipy.signal).
    """
    theta = check_positive_finite(theta, "theta")
    q = check_order(order)
    p = q - 1
    total = math.factorial(p + q)

    def coefficient(k, degree):
        # exact rational arithmetic: the factorials overflow floats quickly
        return Fraction(
            math.factorial(p + q - k) * math.factorial(degree),
            total * math.factorial(k) * math.factorial(degree - k),
        )

    num = [float(coefficient(k, p)) * (-theta) ** k for k in range(p + 1)]
    den = [float(coefficient(k, q)) * theta**k for k in range(q + 1)]
    return np.array(num[::-1]), np.array(den[::-1])


class PadeDelay(LinearSystem):
    """The ``[order-1/order]`` Pade approximant of a delay of ``theta``.

    Realised in controllable canonical form; its transfer function equals that
    of `LegendreDelay` with the same ``theta`` and ``order``. The canonical
    form is badly conditioned for large orders (say above 20): use
    `LegendreDelay` there.

    Parameters
    ----------
    theta : float
        Delay in seconds (> 0).
    order : int
        Order of the denominator (>= 1).
    """

    def __init__(self, theta, order):
        self.theta = check_positive_finite(theta, "theta", self)
        self.order = check_order(order, "order", self)
        try:
            num, den = pade_coefficients(self.theta, self.order)
            with np.errstate(all="ignore"):
                num, den = num / den[0], den / den[0]
        except OverflowError:
            num = den = np.array([np.nan])
        if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))):
            raise ValidationError(
                f"with theta={self.theta:g}, order={self.order} takes the canonical "
                "form's coefficients out of floating-point range (theta**order "
                "over- or underflows); use LegendreDelay",
                attr="order",
                obj=self,
            )
        q = self.order
        A = np.zeros((q, q))
        A[0, :] = -den[1:]
        A[1:, :-1] = np.eye(q - 1)
        B = np.zeros((q, 1))
        B[0, 0] = 1.0
        C = np.zeros((1, q))
        C[0, q - len(num) :] = num  # strictly proper: deg(num) = q - 1
        super().__init__(A, B, C)

    def __repr__(self):
        return f"PadeDelay(theta={self.theta:g}, order={self.order})"
