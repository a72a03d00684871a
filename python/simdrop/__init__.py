"""simdrop: fast, exact, reproducible CPU dropout (Philox4x32-10 counter-based masks).

The PyTorch binding is the submodule ``simdrop.torch`` (``import simdrop.torch as sdt``); it loads the op
library ``libsimdrop_torch_ops.so`` installed beside this file (or named by $SIMDROP_TORCH_OPS_LIBRARY).
"""
