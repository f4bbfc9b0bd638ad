"""hyperscale: the library of a reproducibility study of hypernetworks and flexible feature
scaling in CNNs (SSHN / Hyper-UNet, HyperConv, HyperSeg, Shape Adaptor).

Modules: `data` (datasets and loaders), `models` (f_phi, SSHN, factory), `losses`, `metrics`,
`flops` (MAC counting), `train` (loop, early stopping, checkpoints), `project` (paths,
params, run environment), `io` (atomic, deterministic files).
"""
__version__ = "0.1.0"
