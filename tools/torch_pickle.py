"""Reading torch.save files (torch >= 1.6, the zip format) with numpy alone: no torch, and
no code from the file runs. Used by convert_torch_barrel.py; kept apart so the converter reads
as the model mapping it is.
"""
import io
import os
import pickle


class ConvertError(Exception):
    """One line saying what is wrong and where."""


# ---- loading the pickle without torch and without the original source ----------------------
#
# torch.save (torch >= 1.6) writes a zip archive: <name>/data.pkl, a pickle whose tensors refer
# to storages by persistent id ('storage', storage type, key, location, numel), and one raw
# little-endian record <name>/data/<key> per storage. We read it with our own unpickler, so
# neither torch nor the model's classes are needed and no code from the file runs: tensors
# become numpy arrays, every module (torch's Linear and ModuleList as well as the model's own
# SRNN_bfd, SparseLinear2) becomes a StandIn holding its saved attributes.

_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "bf16",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "UntypedStorage": "u1",
}
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                 "uint8", "bool", "float", "double", "half", "long", "int"}


class StandIn:
    """The saved state of a pickled object whose class is not loaded (a torch module or one of
    the model's own classes). Attribute lookup follows nn.Module: the instance's attributes,
    then _parameters, _buffers, _modules; a ModuleList iterates over its modules."""

    _rsnn_origin = "?"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise ConvertError(f"pickled {self._rsnn_origin}: unexpected state of type {type(state).__name__}")
        self.__dict__.update(state)

    def __getattr__(self, name):
        if not name.startswith("__"):
            for table in ("_parameters", "_buffers", "_modules"):
                d = self.__dict__.get(table)
                if d is not None and name in d:
                    return d[name]
        raise AttributeError(name)

    def __iter__(self):
        return iter(self.__dict__.get("_modules", {}).values())

    def __len__(self):
        return len(self.__dict__.get("_modules", {}))

    def __getitem__(self, k):
        return list(self)[k]


_STAND_INS = {}


def _stand_in(module, name):
    key = (module, name)
    if key not in _STAND_INS:
        _STAND_INS[key] = type(name, (StandIn,), {"__module__": "rsnn_stand_in", "_rsnn_origin": module + "." + name})
    return _STAND_INS[key]


class _Storage:
    def __init__(self, dtype_name):
        self.dtype_name = dtype_name


def _rebuild_tensor(storage, offset, size, stride, *unused):
    import numpy as np
    if not isinstance(storage, np.ndarray):
        raise ConvertError(f"a tensor refers to a storage of type {type(storage).__name__}")
    size, stride = tuple(int(v) for v in size), tuple(int(v) for v in stride)
    if any(n == 0 for n in size):
        return np.zeros(size, dtype=storage.dtype)
    end = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if offset < 0 or end > storage.size:
        raise ConvertError(f"a tensor of shape {size} reaches past its storage of {storage.size} values")
    base = storage[offset:]
    return np.lib.stride_tricks.as_strided(base, size, [s * storage.itemsize for s in stride]).copy()


def _rebuild_parameter(data, *unused):
    return data


_SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "bytearray", "bytes", "range", "list",
                  "dict", "tuple", "int", "float", "bool", "str", "object"}


class _ModelUnpickler(pickle.Unpickler):
    """numpy and a few containers resolve normally, torch's tensor and storage rebuilders to
    numpy, every other class to a StandIn; functions outside this list are refused."""

    def __init__(self, f, read_record, byteorder):
        super().__init__(f, encoding="utf-8")
        self.read_record = read_record
        self.byteorder = byteorder
        self.storages = {}

    def find_class(self, module, name):
        root = module.split(".")[0]
        if root == "torch":
            if module == "torch" and name in _STORAGE_DTYPES:
                return _Storage(_STORAGE_DTYPES[name])
            if module in ("torch._utils", "torch._tensor") and name.startswith("_rebuild_tensor"):
                return _rebuild_tensor
            if module == "torch._utils" and name.startswith("_rebuild_parameter"):
                return _rebuild_parameter
            if module == "torch" and name in _TORCH_DTYPES:
                return "torch." + name
            if module.startswith("torch.nn.modules.") or module == "torch.nn.parameter":
                return _stand_in(module, name)
            raise ConvertError(f"the pickle references {module}.{name}, which a model file should not need")
        if root == "numpy":
            if name not in ("_reconstruct", "ndarray", "dtype", "scalar") and not module.startswith("numpy.dtypes"):
                raise ConvertError(f"the pickle references {module}.{name}, which a model file should not need")
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):  # written by numpy 2 (numpy._core), read by numpy 1
                return super().find_class(module.replace("numpy._core", "numpy.core"), name)
        if (module, name) in (("collections", "OrderedDict"), ("copyreg", "_reconstructor"),
                              ("_codecs", "encode")):
            return super().find_class(module, name)
        if module in ("builtins", "__builtin__"):
            if name not in _SAFE_BUILTINS:
                raise ConvertError(f"the pickle references builtins.{name}, which a model file should not need")
            return super().find_class("builtins", name)
        return _stand_in(module, name)  # the model's own classes: __main__.SRNN_bfd, ...

    def persistent_load(self, pid):
        import numpy as np
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage")):
            raise ConvertError(f"unexpected persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _Storage):
            raise ConvertError(f"unexpected storage type {storage_type!r:.80}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self.storages:
            raw = self.read_record("data/" + key)
            if storage_type.dtype_name == "bf16":  # numpy has no bfloat16: widen to float32
                a = np.frombuffer(raw, dtype=self.byteorder + "u2").astype(np.uint32) << 16
                arr = a.view(np.float32)
            else:
                dt = np.dtype(storage_type.dtype_name).newbyteorder(self.byteorder)
                arr = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
            self.storages[key] = arr
        return self.storages[key]


def load_torch_pickle(path):
    """The object torch.save wrote to `path`, tensors as numpy arrays, modules as StandIns."""
    import zipfile
    if not os.path.isfile(path):
        raise ConvertError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ConvertError(f"{path}: not a torch.save zip archive nor an rsnn barrel checkpoint (files "
                           "written by torch < 1.6 use a "
                           "legacy format: load and re-save the model with a newer torch)")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
            if not pkl:
                raise ConvertError(f"{path}: zip archive without <name>/data.pkl: not a torch.save file")
            prefix = pkl[0][: -len("data.pkl")]
            if prefix + "constants.pkl" in names:
                raise ConvertError(f"{path}: a TorchScript archive, not a torch.save(model) pickle")
            byteorder = "<"
            if prefix + "byteorder" in names and z.read(prefix + "byteorder").strip() == b"big":
                byteorder = ">"

            def read_record(rel):
                try:
                    return z.read(prefix + rel)
                except KeyError:
                    raise ConvertError(f"{path}: record {prefix + rel} is missing") from None

            obj = _ModelUnpickler(io.BytesIO(z.read(pkl[0])), read_record, byteorder).load()
    except ConvertError:
        raise
    except Exception as e:  # a damaged archive or pickle
        detail = str(e).splitlines()[0] if str(e) else "no detail"
        raise ConvertError(f"{path}: cannot be read as a torch.save file ({type(e).__name__}: {detail})")
    return obj
