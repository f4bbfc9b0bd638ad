"""hyperscale: the library of a reproducibility study of hypernetworks and flexible feature
scaling in CNNs. One package per paper, on a core that never imports a paper:

- `core`: data interface and registry, model registry, the training loop and its checkpoints,
  the claims ledger, metrics and losses, FLOP counting, params (schema and profiles), the
  notebook runner, atomic and deterministic file output.
- `data`: the embedded datasets built offline from packaged data, and loaders for the
  papers' real datasets.
- `sshn`: Scale-Space HyperNetworks and its earlier version Hyper-UNet.
- `shape_adaptor`: Shape Adaptor.

Importing it pins the code paths of the CPU math libraries (unless you set them yourself):
MKL picks its GEMM kernels per CPU vendor and oneDNN its convolution kernels per instruction
set, so without this the same run gives other numbers on another machine. `MKL_CBWR=AVX2`
costs nothing measurable here; `ONEDNN_MAX_CPU_ISA=AVX512_CORE` makes every AVX-512 machine
(Intel or AMD) run the same convolution kernels. Both are read when the libraries first
compute, so import hyperscale before running any torch computation.

It also fixes torch's thread count (`HYPERSCALE_THREADS`, default 2, the cpu profile's
laptop): convolutions split their sums across threads, so 1 and 2 threads give different
weights after 15 training steps, and by default torch takes one thread per core.
"""
import os

os.environ.setdefault("MKL_CBWR", "AVX2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
THREADS = int(os.environ.setdefault("HYPERSCALE_THREADS", "2"))

import torch  # noqa: E402  (after the pins above, which the libraries read on their first computation)

torch.set_num_threads(THREADS)

__version__ = "0.2.0"
