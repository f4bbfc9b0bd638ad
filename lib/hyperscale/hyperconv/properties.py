"""What HyperConvolutions keep and what their normalisation does, measured on random inputs (Muller 2021).

- **Translation equivariance at full resolution** (§1, §2.1: the approach "preserves
  translation equivariance and image scale"): the same filters apply at every pixel, and the
  filter input is pooled over the whole image, so shifting the input should shift the output
  and change nothing else. `equivariance_table` shifts an image that sits inside a zero canvas
  (so no content leaves it) and measures max |f(shift x) - shift f(x)| / max |f(x)|.
- **Activation scale over depth** (§4: `normalize` keeps "the resulting filter's magnitude in a
  range that prevents fast activation explosion or decay at increasing depth"): `depth_table`
  stacks HyperConvolutions (GELU between them, as in the UNet-like network) on N(0, 1) input
  and records the activations' RMS after every layer, beside a stack of He-initialised
  standard convolutions, the scale §4.1 aims for; and how far apart the output channels'
  magnitudes lie (§4.1: fixing each filter's L1 norm acts "similar to Instance-Normalization, in
  that output channels have approximately the same magnitude").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import HyperConv, HyperConvEmbed


REACH = 15  # px: how far HyperConvEmbed's three stride-2 3x3 convolutions see (3 + 2 x 2 + 4 x 2)


def _shift_error(layer, canvas: torch.Tensor, shift: tuple[int, int], *filter_input) -> float:
    """max |f(shift x) - shift f(x)| / max |f(x)|, output and input the same size (else inf)."""
    with torch.no_grad():
        y = layer(*filter_input, canvas) if filter_input else layer(canvas)
        moved = torch.roll(canvas, shift, dims=(-2, -1))
        filt = [torch.roll(f, shift, dims=(-2, -1)) for f in filter_input]
        y_moved = layer(*filt, moved) if filter_input else layer(moved)
    if y.shape[-2:] != canvas.shape[-2:]:
        return float("inf")
    return float((y_moved - torch.roll(y, shift, dims=(-2, -1))).abs().max() / y.abs().max())


def equivariance_table(side: int, margin: int, channels: int, n_hid: int, shifts: list, seed: int) -> list[dict]:
    """Each layer's relative shift error: an N(0, 1) image of side - 2 margin px inside a zero canvas of side
    px, shifted by each (dy, dx). HyperConv (appendix Table 5) takes the canvas as its filter input too;
    HyperConvEmbed (Table 7) computes its filter input with stride-2 convolutions, so only shifts by a
    multiple of 8 px keep that embedding's sampling grid."""
    reach = max(max(abs(dy), abs(dx)) for dy, dx in shifts) + REACH
    if reach > margin:
        raise ValueError(f"shifts {shifts} bring content within {REACH} px (the embedding's reach) of the canvas border: "
                         f"make margin >= the largest shift + {REACH} = {reach} (now {margin})")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    canvas = torch.zeros(1, channels, side, side)
    canvas[..., margin:side - margin, margin:side - margin] = torch.randn(1, channels, side - 2 * margin,
                                                                           side - 2 * margin, generator=g)
    layers = {"HyperConv": HyperConv(channels, channels, channels, 3, n_hid, bias=True).eval(),
              "HyperConvEmbed": HyperConvEmbed(channels, channels, 3, n_hid, bias=True).eval()}
    rows = []
    for name, layer in layers.items():
        for dy, dx in shifts:
            extra = (canvas,) if name == "HyperConv" else ()
            rows.append({"layer": name, "shift": f"({dy}, {dx})", "relative_error": _shift_error(layer, canvas, (dy, dx), *extra)})
    return rows


def depth_table(widths: list, layers: int, side: int, n_hid: int, c_hyper: int, seed: int) -> list[dict]:
    """The RMS of the activations after each of `layers` HyperConvolutions (filter input: one fixed N(0, 1)
    embedding of c_hyper channels; GELU after each but the last) on N(0, 1) input, per width, and the
    largest output channel's RMS over the smallest's; and the same for standard 3x3 convolutions at He
    initialisation (std sqrt(2 / fan_in), no bias)."""
    rows = []
    for c in widths:
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        x0, z = torch.randn(1, c, side, side, generator=g), torch.randn(1, c_hyper, 8, 8, generator=g)
        stacks = {"HyperConv": [HyperConv(c, c_hyper, c, 3, n_hid) for _ in range(layers)],
                  "He-initialised convolution": [nn.Conv2d(c, c, 3, padding=1, bias=False) for _ in range(layers)]}
        for conv in stacks["He-initialised convolution"]:
            nn.init.normal_(conv.weight, std=(2 / (9 * c)) ** 0.5)
        for kind, stack in stacks.items():
            x = x0
            with torch.no_grad():
                for d, layer in enumerate(stack, 1):
                    x = layer(z, x) if kind == "HyperConv" else layer(x)
                    per_channel = x.pow(2).mean((0, 2, 3)).sqrt()
                    rows.append({"kind": kind, "width": c, "layer": d, "rms": float(x.pow(2).mean().sqrt()),
                                 "channel_spread": float(per_channel.max() / per_channel.min())})
                    x = F.gelu(x) if d < layers else x
    return rows


def per_layer_factor(rms: list[float]) -> float:
    """The geometric mean change of the RMS per layer, from the first layer's output to the last's."""
    return (rms[-1] / rms[0]) ** (1 / (len(rms) - 1))
