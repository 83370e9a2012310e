"""The rate-to-spiking system (models/rate): tasks, Dale rate RNNs and their training, the
conversion to LIF neurons, LIF simulation and the scaling-factor grid search.

    task = rsnn.rate.task("go-nogo"); cfg = rsnn.rate.RateConfig()
    net, record = rsnn.rate.train(task, cfg)
    grid = rsnn.rate.grid_search(net, task, "20:5:75")
"""
from ._core import rate as _rate

TaskSpec = _rate.TaskSpec
RateConfig = _rate.RateConfig
RateNet = _rate.RateNet
LifParams = _rate.LifParams
LifNetwork = _rate.LifNetwork
task = _rate.task
make_trial = _rate.make_trial
init_net = _rate.init_net
train = _rate.train
evaluate = _rate.evaluate
save_model = _rate.save_model
load_model = _rate.load_model
convert = _rate.convert
simulate = _rate.simulate
grid_search = _rate.grid_search

__all__ = ["TaskSpec", "RateConfig", "RateNet", "LifParams", "LifNetwork", "task", "make_trial",
           "init_net", "train", "evaluate", "save_model", "load_model", "convert", "simulate",
           "grid_search"]
