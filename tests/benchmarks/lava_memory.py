"""The delay memory on Loihi 2's fixed point, through Lava's CPU model.

B1's delay memory in `nengo_lmu.nir.CubaLIF` neurons (theta 1 s, order 6,
600 neurons, tau_syn 0.1 s, 1 Hz white noise, dt 1 ms) is exported with
`nengo_lmu.nir.to_nir`, written as a lava-dl netx file in Loihi 2's fixed
point (`nengo_lmu.nir.write_netx`), and run by Lava 0.10's ``LIF`` and
``Dense`` processes (``Loihi2SimCfg``, ``fixed_pt``) in a Python 3.10
environment that this script creates if it is missing (``.venv-lava``:
``lava-nc==0.10.0 scipy==1.13.1 h5py``; lava-nc needs Python < 3.11). It
prints the NRMSE of the decoded u(t - theta) from Lava, from the NIR file in
the reference simulator, and of the exact memory.

    python tests/benchmarks/lava_memory.py [--quick] [--python PYTHON3.10]
"""

import argparse
import pathlib
import shutil
import subprocess
import tempfile

import nengo
import numpy as np

from nengo_lmu import LMUMemory
from nengo_lmu.nir import memory_options, simulate, to_nir
from nengo_lmu.nir.lava import write_netx

DT = 0.001
ROOT = pathlib.Path(__file__).parent.parent.parent


def lava_python(given):
    if given:
        return given
    venv = ROOT / ".venv-lava"
    python = venv / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3.10")
        if base is None:
            raise SystemExit("needs python3.10 for lava-nc 0.10 (give --python)")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "lava-nc==0.10.0",
                "scipy==1.13.1",
                "h5py",
            ],
            check=True,
        )
    return str(python)


def nrmse(y, u, theta=1.0):
    k = int(round(theta / DT))
    return float(np.sqrt(np.mean((y[k:] - u[:-k]) ** 2)) / np.std(u))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s instead of 10 s")
    parser.add_argument("--python", default=None, help="a Python with lava-nc 0.10")
    parser.add_argument(
        "--v-range", type=float, default=3.0, help="voltages kept in 24 bits"
    )
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(seconds, high=1, rms=0.3, seed=1))
        mem = LMUMemory(1.0, 6, neurons_per_dimension=100, seed=2, **memory_options())
        nengo.Connection(stim, mem.input, synapse=None)
        out = mem.add_delay_output(1.0)
        p_in = nengo.Probe(stim, synapse=None)
        exact = LMUMemory(1.0, 6)
        nengo.Connection(stim, exact.input, synapse=None)
        p_exact = nengo.Probe(exact.add_delay_output(1.0), synapse=0.01)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(seconds)
    u = sim.data[p_in]
    uf = nengo.Lowpass(0.01).filt(u, dt=DT)
    graph = to_nir(net, dt=DT, outputs=[out])
    y_ref = nengo.Lowpass(0.01).filt(simulate(graph, u, dt=DT), dt=DT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        params = write_netx(graph, tmp / "memory.net", dt=DT, v_range=args.v_range)
        np.save(tmp / "u.npy", u)
        subprocess.run(
            [
                lava_python(args.python),
                str(ROOT / "tests" / "lava_runner.py"),
                str(tmp / "memory.net"),
                str(tmp / "u.npy"),
                str(tmp / "spikes.npy"),
            ],
            check=True,
        )
        spikes = np.load(tmp / "spikes.npy")
    y_lava = nengo.Lowpass(0.01).filt(spikes @ params["readout"].T, dt=DT)
    e_lava, e_ref = nrmse(y_lava, uf), nrmse(y_ref, uf)
    e_exact = nrmse(sim.data[p_exact], uf)
    print(
        f"delay memory, {seconds:g} s, v_range {args.v_range:g}: NRMSE of "
        f"u(t - 1 s): Lava Loihi2SimCfg fixed_pt {e_lava:.4f}, NIR reference "
        f"simulator {e_ref:.4f}, exact memory {e_exact:.4f}; "
        f"spikes Lava {int(spikes.sum())}"
    )


if __name__ == "__main__":
    main()
