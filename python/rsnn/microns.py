"""The MICrONS-constrained RNNs (models/microns): field folders, the 11 variants (initial
kernels and regularizers), the three tasks, one training run and the graph metrics.

    f = rsnn.microns.load_field("data/microns/6_6_2", positions="positions_plain.npy")
    cfg = rsnn.microns.TrainConfig(); cfg.variant = "W*D*C"; cfg.task = "maze"
    run = rsnn.microns.train(f, cfg)                   # pandas.DataFrame(run["epochs"])
    rsnn.microns.graph_metrics(run["W_rec"], null_clustering=0.194422, null_efficiency=0.590016)

A field's matrices are views of the loaded field (no copy). Variant keys: W = weights
penalty, D = grid distance, D* = soma distance, C = communicability, C* = with the EMD term,
W* = bio init, W! = permuted bio init (see docs/microns.md).
"""
from ._core import microns as _m

Field = _m.Field
TrainConfig = _m.TrainConfig
Regularizer = _m.Regularizer
load_field = _m.load_field
distance_grid = _m.distance_grid
distance_star = _m.distance_star
empirical_comms_sorted = _m.empirical_comms_sorted
variants = _m.variants
regularizer = _m.regularizer
make_regularizer = _m.make_regularizer
initial_weights = _m.initial_weights
bio_weights = _m.bio_weights
communicability = _m.communicability
make_task = _m.make_task
train = _m.train
smallworld_null = _m.smallworld_null
graph_metrics = _m.graph_metrics
threshold_graph = _m.threshold_graph
greedy_modularity_communities = _m.greedy_modularity_communities
modularity = _m.modularity
degree_assortativity = _m.degree_assortativity
clustering = _m.clustering
global_efficiency = _m.global_efficiency
kde_entropy_bits = _m.kde_entropy_bits


def config(**settings) -> TrainConfig:
    """A TrainConfig with the given fields set (unknown names raise AttributeError), e.g.
    config(task="go_nogo", variant="WD", epochs=2)."""
    c = TrainConfig()
    for k, v in settings.items():
        if not hasattr(c, k):
            raise AttributeError(f"TrainConfig has no setting '{k}'")
        setattr(c, k, v)
    return c


__all__ = ["Field", "TrainConfig", "Regularizer", "load_field", "distance_grid", "distance_star",
           "empirical_comms_sorted", "variants", "regularizer", "make_regularizer",
           "initial_weights", "bio_weights", "communicability", "make_task", "train",
           "smallworld_null", "graph_metrics", "threshold_graph", "greedy_modularity_communities",
           "modularity", "degree_assortativity", "clustering", "global_efficiency",
           "kde_entropy_bits", "config"]
