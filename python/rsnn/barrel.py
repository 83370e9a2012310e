"""The barrel-cortex system (models/barrel): synthetic whisker data, encoding, whisker
deprivation, the 4,418-neuron aLIF model (forward, training, evaluation, checkpoints) and
its analyses (raster and population rates, neuron dynamics, weighted degrees).

    data = rsnn.barrel.synthesize(30, seed=1); cfg = rsnn.barrel.BarrelConfig.spiking_default()
    model = rsnn.barrel.BarrelModel(cfg); enc = rsnn.barrel.encode(cfg, data)
    rsnn.barrel.train(model, enc, enc, epochs=1, batch=8)
"""
from ._core import barrel as _barrel

WhiskerData = _barrel.WhiskerData
EncodedSet = _barrel.EncodedSet
BarrelConfig = _barrel.BarrelConfig
BarrelModel = _barrel.BarrelModel
synthesize = _barrel.synthesize
read_whisker_h5 = _barrel.read_whisker_h5
write_whisker_h5 = _barrel.write_whisker_h5
deprive = _barrel.deprive
deprivation_sets = _barrel.deprivation_sets
split = _barrel.split
class_counts = _barrel.class_counts
encode = _barrel.encode
make_batch = _barrel.make_batch
train = _barrel.train
evaluate = _barrel.evaluate
load_checkpoint = _barrel.load_checkpoint
raster = _barrel.raster
neuron_dynamics = _barrel.neuron_dynamics
recurrent_degrees = _barrel.recurrent_degrees

CLASSES = ("helmet", "box", "plane")

__all__ = ["WhiskerData", "EncodedSet", "BarrelConfig", "BarrelModel", "synthesize",
           "read_whisker_h5", "write_whisker_h5", "deprive", "deprivation_sets", "split",
           "class_counts", "encode", "make_batch", "train", "evaluate", "load_checkpoint",
           "raster", "neuron_dynamics", "recurrent_degrees", "CLASSES"]
