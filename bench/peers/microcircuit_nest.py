#!/usr/bin/env python3
"""Runs NEST's own Potjans_2014 example (fetched at run time by microcircuit_peers.sh, never
part of rsnn) at a scale factor and prints one JSON line: neurons, synapses, seconds to
create, connect, presimulate and simulate, the per-population rates over the recorded time.

  microcircuit_nest.py --example DIR --scale S --time MS --presim MS --threads N --seed N --workdir DIR

Excitatory synapses go through a copy of static_synapse: with 2 threads the full-scale
network exceeds NEST's limit of 134,217,726 connections per thread and synapse model
(same dynamics and speed, as issue 21 notes).
"""
import argparse
import json
import os
import sys
import time


class NestWithRoutedConnect:
    """The nest module with Connect replaced, for network.py's module-level name `nest`."""

    def __init__(self, nest, connect):
        self._nest, self.Connect = nest, connect

    def __getattr__(self, name):
        return getattr(self._nest, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--example", required=True, help="folder holding NEST's network.py and *_params.py")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--time", type=float, default=1000.0)
    ap.add_argument("--presim", type=float, default=500.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    if not 0 < a.scale <= 1 or a.time <= 0 or a.presim <= 0 or a.threads < 1:
        ap.error("need 0 < scale <= 1, time > 0, presim > 0, threads >= 1")
    if not os.path.isfile(os.path.join(a.example, "network.py")):
        ap.error(f"--example {a.example}: no network.py there")
    sys.path.insert(0, a.example)
    import nest
    import network
    from network_params import net_dict
    from sim_params import sim_dict
    from stimulus_params import stim_dict

    os.makedirs(a.workdir, exist_ok=True)
    data = os.path.join(os.path.abspath(a.workdir), "data") + "/"
    sim_dict.update({"local_num_threads": a.threads, "rng_seed": a.seed, "data_path": data,
                     "t_presim": a.presim, "t_sim": a.time, "print_time": False})
    net_dict.update({"N_scaling": a.scale, "K_scaling": a.scale})

    # Route connections from excitatory populations through a copy of static_synapse.
    connect = nest.Connect
    exc_first_ids = set()

    def routed(pre, post, conn_spec=None, syn_spec=None, **kw):
        if isinstance(syn_spec, dict) and syn_spec.get("synapse_model") == "static_synapse" and \
                len(pre) > 0 and pre[0].global_id in exc_first_ids:
            syn_spec = dict(syn_spec, synapse_model="static_synapse_exc")
        return connect(pre, post, conn_spec=conn_spec, syn_spec=syn_spec, **kw)

    t0 = time.time()
    net = network.Network(sim_dict, net_dict, stim_dict)
    net.create()
    nest.CopyModel("static_synapse", "static_synapse_exc")
    exc_first_ids.update(p[0].global_id for p in net.pops[0::2])
    network.nest = NestWithRoutedConnect(nest, routed)  # NEST's module refuses new attributes
    t1 = time.time()
    net.connect()
    network.nest = nest
    t2 = time.time()
    net.simulate(a.presim)
    t3 = time.time()
    before = [sr.n_events for sr in net.spike_recorders]
    net.simulate(a.time)
    t4 = time.time()
    after = [sr.n_events for sr in net.spike_recorders]
    sizes = [len(p) for p in net.pops]
    names = net_dict["populations"]
    print(json.dumps({
        "peer": "nest", "version": nest.__version__, "scale": a.scale, "neurons": sum(sizes),
        "synapses": int(net.num_synapses.sum()),
        "exc_copy_connections": int(nest.GetDefaults("static_synapse_exc")["num_connections"]), "create_s": round(t1 - t0, 2),
        "connect_s": round(t2 - t1, 2), "presimulate_s": round(t3 - t2, 2), "simulate_s": round(t4 - t3, 2),
        "s_per_bio_s": round((t4 - t3) / (a.time * 1e-3), 3),
        "rates": {names[i]: round((after[i] - before[i]) / (sizes[i] * a.time * 1e-3), 3) for i in range(len(sizes))}}))


if __name__ == "__main__":
    main()
