import os
import sys

# The tests import reference.py beside them.
sys.path.insert(0, os.path.dirname(__file__))

_SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# ctest sets both; run by hand, the shared data sit beside the checkout.
SHARED_DATA = os.environ.get("RSNN_SHARED_DATA_DIR", os.path.join(_SOURCE, "..", "shared", "data"))
RSNN_EXE = os.environ.get("RSNN_RSNN_EXE", "")
