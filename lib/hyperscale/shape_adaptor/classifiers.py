"""VGG-16, ResNet-50 and MobileNetV2 with human-designed resizing or shape adaptors (Shape Adaptor §4.1).

One constructor convention for the three: `(num_classes, in_chans, input_size, width_mult, design,
n_adaptors, ...)`. A network is a stem, a list of `cells` (its normal layers) and a head
(global average pool + linear). `design` decides where it resizes:

* "human": the resizing layers of the CIFAR designs the paper compares against (§4.1: VGG-16
  max-pools 4 times at 32x32, ResNet-50 and MobileNetV2 stride 2 three times).
* "adaptor": every human resizing layer removed; `n_adaptors` down-sampling shape adaptors
  (default: eq. 3) inserted uniformly after the cells, never after the last one (§4.1), built
  as in Fig. 2: (max-pool, identity) around a VGG or MobileNetV2 cell, (stride-2 1x1 shortcut,
  residual weight layers) x 2 inside a ResNet bottleneck. Initialised by eq. 5 to reach
  `d_out`, or to the factors in `init_s`.
* "autosc" (§5.1): the human design plus down-sampling adaptors after `n_adaptors` of its
  non-resizing cells, initialised to the human shape (s just below 1, see `identity_s`), so
  they can only compress.

`fixed_s` (a list of factors) freezes the adaptors at those factors: the Fix(Final),
Fix(Large) and random-shape baselines of §4.4. `d_limit` is the memory constraint of eq. 6-8
on the final feature size. `width_mult` scales every channel count (paper: 1).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..core.models import register_model
from .adaptor import ShapeAdaptor, alpha_bar_for_s, init_alpha_bar, memory_rho, s_of_alpha
from .adaptor import n_adaptors as eq3_n_adaptors

DESIGNS = ("human", "adaptor", "autosc")


def identity_s(input_size: int) -> float:
    """AutoSC's initial s: the smallest factor that still rounds every layer to its human size.

    Any d <= input_size gives round(d * s) = d. Closer to 1 the sigmoid saturates and alpha stops
    learning (at s = 1 - 1e-4 its gradient is ~150x smaller than here).
    """
    return 1 - 0.45 / input_size


def _ch(c: int, width_mult: float) -> int:
    return max(4, int(round(c * width_mult)))


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type = nn.ReLU) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act(inplace=True)) if act else nn.Sequential(*layers)


def adaptor_positions(n_cells: int, n: int) -> list[int]:
    """Indices of the cells followed by an adaptor: spread uniformly, never after the last cell."""
    if not (1 <= n <= n_cells - 1):
        raise ValueError(f"{n} shape adaptors do not fit between {n_cells} cells (at most {n_cells - 1})")
    pos = sorted({min(n_cells - 2, max(0, round((i + 1) * n_cells / (n + 1)) - 1)) for i in range(n)})
    free = [i for i in range(n_cells - 1) if i not in pos]
    while len(pos) < n:  # rounding collided: take the free slots nearest the middle
        pos = sorted(pos + [free.pop(len(free) // 2)])
    return pos


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1, 3x3, 1x1; expansion 4). With an adaptor it is the residual cell
    of Fig. 2: F1 = stride-2 1x1 shortcut, F2 = the weight layers at stride 1, mixed x 2."""

    def __init__(self, cin: int, mid: int, stride: int = 1, adaptor: dict | None = None):
        super().__init__()
        cout = 4 * mid
        residual = nn.Sequential(conv_bn(cin, mid, 1), conv_bn(mid, mid, 3, 1 if adaptor else stride),
                                 conv_bn(mid, cout, 1, act=None))
        needs_proj = adaptor is not None or stride != 1 or cin != cout
        shortcut = conv_bn(cin, cout, 1, 2 if adaptor else stride, act=None) if needs_proj else nn.Identity()
        if adaptor:
            self.adaptor = ShapeAdaptor(shortcut, residual, scale=2.0, **adaptor)
        else:
            self.adaptor, self.residual, self.shortcut = None, residual, shortcut

    def forward(self, x: Tensor) -> Tensor:
        out = self.adaptor(x) if self.adaptor is not None else self.residual(x) + self.shortcut(x)
        return F.relu(out)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (t), 3x3 depthwise, 1x1 linear projection; residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hid = cin * t
        layers = ([conv_bn(cin, hid, 1, act=nn.ReLU6)] if t != 1 else []) + [
            conv_bn(hid, hid, 3, stride, groups=hid, act=nn.ReLU6), conv_bn(hid, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x) if self.use_res else self.body(x)


class Wrapped(nn.Module):
    """A cell followed by a conv-cell shape adaptor (Fig. 2 left: max-pool vs identity)."""

    def __init__(self, cell: nn.Module, adaptor: dict):
        super().__init__()
        self.cell = cell
        self.adaptor = ShapeAdaptor(nn.MaxPool2d(2), nn.Identity(), **adaptor)

    def forward(self, x: Tensor) -> Tensor:
        return self.adaptor(self.cell(x))


class ShapeNet(nn.Module):
    """Common body: stem -> cells -> global average pool -> linear, plus the adaptors' bookkeeping."""

    n_stem = 0  # halvings in the stem, whatever the design (ResNet-50's ImageNet stem has 2)

    def __init__(self, num_classes: int = 10, in_chans: int = 3, input_size: int = 32, width_mult: float = 1.0,
                 design: str = "human", n_adaptors: int | None = None, r_min: float = 0.5, r_max: float = 1.0,
                 d_last: float = 2, d_out: float = 8, init_s: list[float] | None = None,
                 fixed_s: list[float] | None = None, d_limit: float | None = None, s_grad: str = "detach"):
        super().__init__()
        if design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}; got {design!r}")
        if input_size < 2 or in_chans < 1 or num_classes < 2 or width_mult <= 0:
            raise ValueError(f"bad network size: input_size={input_size}, in_chans={in_chans}, "
                             f"num_classes={num_classes}, width_mult={width_mult}")
        self.config = dict(num_classes=num_classes, in_chans=in_chans, input_size=input_size, width_mult=width_mult,
                           design=design, n_adaptors=n_adaptors, r_min=r_min, r_max=r_max, d_last=d_last,
                           d_out=d_out, init_s=init_s, fixed_s=fixed_s, d_limit=d_limit, s_grad=s_grad)
        n_cells = len(self.cell_specs(width_mult))
        human = self.human_resizing()
        if design == "human":
            slots, alpha0 = [], []
        else:
            if n_adaptors is None:
                n_adaptors = eq3_n_adaptors(input_size, d_last, r_min)
            n = n_adaptors
            if design == "adaptor":
                slots = adaptor_positions(n_cells, n)
                alpha0 = [init_alpha_bar(input_size, d_out, n, r_min, r_max, d_last)] * n
            else:
                free = [i for i in range(n_cells - 1) if i not in human]
                slots = [free[j] for j in adaptor_positions(len(free) + 1, n)]
                alpha0 = [alpha_bar_for_s(identity_s(input_size) * r_max, r_min, r_max)] * n
            for name, given in (("init_s", init_s), ("fixed_s", fixed_s)):
                if given is not None and len(given) != n:
                    raise ValueError(f"{name} has {len(given)} factors for {n} shape adaptors")
            if fixed_s is not None or init_s is not None:
                alpha0 = [alpha_bar_for_s(s, r_min, r_max) for s in (fixed_s or init_s)]
        adaptor_of = {c: dict(r1=r_min, r2=r_max, alpha_bar=a, s_grad=s_grad, learn_alpha=fixed_s is None)
                      for c, a in zip(slots, alpha0)}
        self.stem, cells, feat = self.build(width_mult, set(human) if design != "adaptor" else set(), adaptor_of)
        self.cells = nn.ModuleList(cells)
        self.head = nn.Linear(feat, num_classes)
        self.adaptors = [m for m in self.modules() if isinstance(m, ShapeAdaptor)]
        self.n_human = len(human) if design != "adaptor" else 0
        # channels_last weights (and so activations): 1.24-1.42x the training steps/s of all three
        # networks on one CPU thread here (`python -m hyperscale.bench --levers`, README)
        self.to(memory_format=torch.channels_last)

    # Subclasses define: cell_specs(width_mult) -> list, human_resizing() -> cell indices that
    # resize (factor 0.5) in the human design, build(width_mult, human, adaptor_of) -> (stem, cells, features).

    def alpha_parameters(self) -> list[nn.Parameter]:
        return [a.alpha_bar for a in self.adaptors if a.alpha_bar.requires_grad]

    def weight_parameters(self) -> list[nn.Parameter]:
        ids = {id(p) for p in self.alpha_parameters()}
        return [p for p in self.parameters() if id(p) not in ids and p.requires_grad]

    def shape_factors(self) -> list[float]:
        """s(alpha) of every adaptor, input to output, without the memory penalty."""
        return [float(s_of_alpha(torch.sigmoid(a.alpha_bar.detach()), a.r1, a.r2)) for a in self.adaptors]

    def final_size(self) -> float:
        """D_cout: the final feature size the current shape gives (real-valued, as eq. 4)."""
        d = self.config["input_size"] * 0.5 ** (self.n_human + self.n_stem)
        for s in self.shape_factors():
            d *= s
        return d

    def update_rho(self) -> float:
        """Eq. 8 for the current shape; applied to every adaptor (eq. 6-7). Returns rho."""
        rho = memory_rho(self.config["d_limit"], self.final_size(), max(len(self.adaptors), 1))
        for a in self.adaptors:
            a.rho = rho
        return rho

    def feature_shapes(self) -> list[tuple[int, int, int]]:
        """(C, H, W) after the stem and after every cell, for the current shape (Fig. 3, Fig. 5's memory)."""
        d = self.config["input_size"]
        x = torch.zeros(1, self.config["in_chans"], d, d, device=self.head.weight.device)
        training = self.training
        self.eval()
        with torch.no_grad():
            shapes = [tuple((x := self.stem(x)).shape[1:])]
            for cell in self.cells:
                x = cell(x)
                shapes.append(tuple(x.shape[1:]))
        self.train(training)
        return shapes

    def feature_sizes(self) -> list[int]:
        """Spatial size after the stem and after every cell (square maps)."""
        return [s[-1] for s in self.feature_shapes()]

    def forward(self, x: Tensor) -> Tensor:
        size = self.config["input_size"]
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.config["in_chans"] or \
                x.shape[-1] != size or x.shape[-2] != size or x.dtype != torch.float32:
            raise ValueError(f"{type(self).__name__} expects float32 images (B, {self.config['in_chans']}, {size}, "
                             f"{size}); got {type(x).__name__} {tuple(getattr(x, 'shape', ()))} "
                             f"{getattr(x, 'dtype', '')}")
        self.update_rho()
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.head(x.mean((2, 3)))


@register_model("vgg16")
class VGG16(ShapeNet):
    """VGG-16 (Simonyan & Zisserman 2015): 13 conv cells; human design max-pools after cells 2, 4, 7, 10."""

    WIDTHS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]

    def cell_specs(self, width_mult):
        return [_ch(c, width_mult) for c in self.WIDTHS]

    def human_resizing(self):
        return [1, 3, 6, 9]

    def build(self, width_mult, human, adaptor_of):
        cells, cin = [], self.config["in_chans"]
        for i, c in enumerate(self.cell_specs(width_mult)):
            cell = conv_bn(cin, c)
            if i in human:
                cell = nn.Sequential(cell, nn.MaxPool2d(2))
            cells.append(Wrapped(cell, adaptor_of[i]) if i in adaptor_of else cell)
            cin = c
        return nn.Identity(), cells, cin


@register_model("resnet50")
class ResNet50(ShapeNet):
    """ResNet-50 (He et al. 2016); human design strides 2 entering stages 2-4. `stem`: "cifar" (3x3,
    no pooling: the CIFAR design, Fig. 1's Human Designed B) or "imagenet" (a 7x7 stride-2
    convolution and a 3x3 stride-2 max-pool: the ImageNet design, Fig. 1's Human Designed A)."""

    STAGES = [(64, 3), (128, 4), (256, 6), (512, 3)]
    STEMS = ("cifar", "imagenet")

    def __init__(self, *args, stem: str = "cifar", **kwargs):
        if stem not in self.STEMS:
            raise ValueError(f"ResNet-50's stem must be one of {self.STEMS}; got {stem!r}")
        self.stem_kind, self.n_stem = stem, 2 * (stem == "imagenet")  # read by build() and final_size()
        super().__init__(*args, **kwargs)
        if stem != "cifar":  # recorded only when set, so the CIFAR design's config stays as it was
            self.config["stem"] = stem

    def cell_specs(self, width_mult):
        return [(_ch(m, width_mult), i == 0 and s > 0) for s, (m, n) in enumerate(self.STAGES) for i in range(n)]

    def human_resizing(self):
        return [i for i, (_, first) in enumerate(self.cell_specs(1.0)) if first]

    def build(self, width_mult, human, adaptor_of):
        stem_c = _ch(64, width_mult)
        stem = conv_bn(self.config["in_chans"], stem_c, **({"k": 7, "stride": 2} if self.stem_kind == "imagenet" else {}))
        if self.stem_kind == "imagenet":
            stem = nn.Sequential(stem, nn.MaxPool2d(3, 2, 1))
        cells, cin = [], stem_c
        for i, (mid, _) in enumerate(self.cell_specs(width_mult)):
            cells.append(Bottleneck(cin, mid, 2 if i in human else 1, adaptor_of.get(i)))
            cin = 4 * mid
        return stem, cells, cin


@register_model("mobilenetv2")
class MobileNetV2(ShapeNet):
    """MobileNetV2 (Sandler et al. 2018), CIFAR strides (stem 1, 24-channel stage 1): 3 resizing layers."""

    STAGES = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def cell_specs(self, width_mult):
        return [(t, _ch(c, width_mult), s if i == 0 else 1) for t, c, n, s in self.STAGES for i in range(n)]

    def human_resizing(self):
        return [i for i, (_, _, s) in enumerate(self.cell_specs(1.0)) if s == 2]

    def build(self, width_mult, human, adaptor_of):
        stem_c = _ch(32, width_mult)
        stem = conv_bn(self.config["in_chans"], stem_c, act=nn.ReLU6)
        cells, cin = [], stem_c
        for i, (t, c, _) in enumerate(self.cell_specs(width_mult)):
            cell = InvertedResidual(cin, c, 2 if i in human else 1, t)
            cells.append(Wrapped(cell, adaptor_of[i]) if i in adaptor_of else cell)
            cin = c
        last = _ch(1280, width_mult)
        cells.append(conv_bn(cin, last, 1, act=nn.ReLU6))
        return stem, cells, last

