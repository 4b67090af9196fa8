"""Run a NIR file in Norse 1.1.0.

    python norse_runner.py GRAPH.nir IN.npy OUT.npy DT


Standalone (numpy, nir, torch, norse only), for the separate Norse venv; the
output ``OUT.npy`` holds the graph's Output per step; an input of shape
``(batch, steps, n)`` runs ``batch`` sequences side by side.
"""

import sys

import nir
import numpy as np
import torch
from norse.torch import from_nir


def main(graph_path, in_path, out_path, dt):
    graph = nir.read(graph_path)
    module = from_nir(graph, dt=float(dt))
    inputs = np.load(in_path)
    batched = inputs.ndim == 3  # (batch, steps, n): steps first
    inputs = torch.from_numpy(np.moveaxis(inputs, 1, 0) if batched else inputs).float()
    state, outputs = None, []
    with torch.no_grad():
        for x in inputs:
            y, state = module(x, state)
            outputs.append(y.detach().numpy().copy())
    outputs = np.array(outputs)
    np.save(out_path, np.moveaxis(outputs, 0, 1) if batched else outputs)


if __name__ == "__main__":
    main(*sys.argv[1:5])
