"""Run a netx file of `nengo_lmu.nir.write_netx` on Lava's Loihi 2 CPU model.

    python lava_runner.py MEMORY.net INPUT.npy SPIKES.npy

Standalone (numpy, h5py, lava-nc 0.10 only), for a Python 3.10 environment:
the input layer's integer inputs ``round(input_scale * u)`` come from a ring
buffer through a graded ``Dense``, the bias current from a constant one
through another; the CUBA neurons (``LIF``) and their
recurrent ``Dense`` run in fixed point (``Loihi2SimCfg(select_tag="fixed_pt")``);
the spikes, ``(steps, neurons)``, are written to ``SPIKES.npy``.
"""

import sys

import h5py
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIF


def main(net_path, in_path, out_path):
    u = np.load(in_path)  # (steps, inputs)
    with h5py.File(net_path, "r") as f:
        scale = int(f["layer/0/input_scale"][()])
        d = f["layer/1"]
        w_in, w_in_exp = d["weight"][()], int(d["weight_exp"][()])
        w_rec, w_rec_exp = d["weight_rec"][()], int(d["weight_rec_exp"][()])
        lo = d["weight_rec_lo"][()], int(d["weight_rec_lo_exp"][()])
        w_bias, w_bias_exp = d["weight_bias"][()], int(d["weight_bias_exp"][()])
        neuron = d["neuron"]
        du = int(neuron["iDecay"][()]) - 1
        dv = int(neuron["vDecay"][()])
        vth = int(neuron["vThMant"][()])
    steps, n = len(u), w_rec.shape[0]
    source = Source(data=np.round(scale * u).astype(np.int32).T)
    dense_in = Dense(weights=w_in, weight_exp=w_in_exp, num_message_bits=16)
    lif = LIF(shape=(n,), du=du, dv=dv, vth=vth)
    one = Source(data=np.full((1, steps), scale, dtype=np.int32))
    dense_bias = Dense(weights=w_bias, weight_exp=w_bias_exp, num_message_bits=16)
    one.s_out.connect(dense_bias.s_in)
    dense_bias.a_out.connect(lif.a_in)
    dense_rec = Dense(weights=w_rec, weight_exp=w_rec_exp)
    sink = Sink(shape=(n,), buffer=steps)
    source.s_out.connect(dense_in.s_in)
    dense_in.a_out.connect(lif.a_in)
    lif.s_out.connect(dense_rec.s_in)
    dense_rec.a_out.connect(lif.a_in)
    if np.any(lo[0]):  # a second synapse with the low bits of the weights
        dense_lo = Dense(weights=lo[0], weight_exp=lo[1])
        lif.s_out.connect(dense_lo.s_in)
        dense_lo.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    lif.run(
        condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt")
    )
    spikes = sink.data.get().T
    lif.stop()
    np.save(out_path, spikes)


if __name__ == "__main__":
    main(*sys.argv[1:4])
