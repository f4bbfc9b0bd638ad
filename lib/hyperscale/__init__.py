"""hyperscale: the library of a reproducibility study of hypernetworks and flexible feature
scaling in CNNs. One package per paper, on a core that never imports a paper:

- `core`: data interface and registry, model registry, the training loop and its checkpoints,
  the claims ledger, metrics and losses, FLOP counting, params (schema and profiles), the
  notebook runner, atomic and deterministic file output.
- `data`: the embedded datasets built offline from packaged data, and loaders for the
  papers' real datasets.
- `sshn`: Scale-Space HyperNetworks and its earlier version Hyper-UNet.
- `shape_adaptor`, `hyperconv`, `hyperseg`: Shape Adaptor, HyperConv, HyperSeg.

Importing it pins the code paths of the CPU math libraries (unless you set them yourself):
MKL picks its GEMM kernels per CPU vendor and oneDNN its convolution kernels per instruction
set, so without this the same run gives other numbers on another machine. `MKL_CBWR=AVX2`
costs nothing measurable here; `ONEDNN_MAX_CPU_ISA=AVX512_CORE` makes every AVX-512 machine
(Intel or AMD) run the same convolution kernels. Both are read when the libraries first
compute, so import hyperscale before running any torch computation.

It also fixes torch's thread count: one thread per process (`HYPERSCALE_THREADS`, default 1).
Convolutions split their sums across threads, so 1 and 2 threads give different weights after
15 training steps: a run's bytes must not depend on the machine's core count. And two threads
on two cores collapse 10-20x as soon as anything else runs (OpenMP threads wait on each other at
every op), where one thread keeps its pace: the cores are used by training runs side by side
(`JOBS`, core/pool.py), not by threads.

Errors about input (`core.errors.InputError`) that nothing catches print one line, not a traceback.
"""
import os
import sys

from .core.errors import InputError, SettingsError


def _one_line(kind, err, tb, _default=sys.excepthook):
    if isinstance(err, InputError):
        print(f"error: {err}", file=sys.stderr)
    else:
        _default(kind, err, tb)


sys.excepthook = _one_line

os.environ.setdefault("MKL_CBWR", "AVX2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")


def _threads() -> int:
    raw = os.environ["HYPERSCALE_THREADS"] = os.environ.get("HYPERSCALE_THREADS") or "1"  # (make exports it empty)
    if not raw.strip().isdigit() or int(raw) < 1:
        raise SettingsError(f"HYPERSCALE_THREADS={raw!r}: expected a whole number of threads per process, at least 1 "
                            f"(default 1; unset it, and use JOBS to train runs side by side)")
    return int(raw)


THREADS = _threads()
# torch reads these when it loads, so importing hyperscale does not load torch: the notebook runner
# and the pipeline's small commands start ~1.5 s sooner (33 stages, every `make test`). Where torch
# came first, it is told directly.
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(THREADS)
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(THREADS)

__version__ = "0.2.0"
