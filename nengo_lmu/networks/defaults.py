"""Defaults of `.LinearNetwork`'s neural realisation and its readouts,
measured on benchmark B1 and the delay task (see the docs).
"""

import nengo

#: Unless given, the neural realisation's intercepts and solver (measured on
#: benchmark B1, see the docs).
DEFAULT_INTERCEPTS = nengo.dists.Uniform(-0.3, 0.3)
DEFAULT_SOLVER = nengo.solvers.LstsqL2(reg=0.03)
#: Unless given, the intercepts and neurons per state dimension of the
#: readout ensembles that decode nonlinear functions (`.LinearNetwork.add_output`).
READOUT_INTERCEPTS = nengo.dists.Uniform(-0.1, 0.6)
READOUT_NEURONS_PER_DIMENSION = 300
