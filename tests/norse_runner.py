"""Run a NIR file in Norse 1.1.0: ``python norse_runner.py GRAPH.nir IN.npy OUT.npy DT``.

Standalone (numpy, nir, torch, norse only), for the separate Norse venv; the
output ``OUT.npy`` holds the graph's Output per step.
"""

import sys

import nir
import numpy as np
import torch
from norse.torch import from_nir


def main(graph_path, in_path, out_path, dt):
    graph = nir.read(graph_path)
    module = from_nir(graph, dt=float(dt))
    inputs = torch.from_numpy(np.load(in_path)).float()
    state, outputs = None, []
    with torch.no_grad():
        for x in inputs:
            y, state = module(x, state)
            outputs.append(y.detach().numpy().ravel().copy())
    np.save(out_path, np.array(outputs))


if __name__ == "__main__":
    main(*sys.argv[1:5])
