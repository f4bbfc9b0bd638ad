"""A simple camera pipeline and its inverse: RAW sensor data from clean sRGB photos ("unprocessing").

After Brooks et al., "Unprocessing images for learned raw denoising" (CVPR 2019; HyperConv's
ref. 4): invert a photo's tone curve (smoothstep) and gamma, move it to a random camera colour
space, divide by random white-balance and brightness gains, keep one colour per pixel of an
RGGB Bayer mosaic (packed to 4 channels at half size), and add heteroscedastic shot and read
noise whose levels are drawn as Brooks et al. draw them. `process` runs the pipeline forward
(gains, bilinear demosaicing, colour matrix, gamma, tone curve). Our simplifications: the
colour matrix is a random row-normalised matrix near identity (Brooks et al. interpolate four
measured camera matrices, which we do not have), and gains are inverted by division with
clipping (Brooks et al. keep highlights from saturating with a soft mask).
All functions take and return float32 arrays; images are (3, H, W), mosaics (4, H/2, W/2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

GAMMA = 2.2


@dataclass(frozen=True)
class Camera:
    """One draw of the pipeline's random settings."""
    rgb2cam: np.ndarray  # (3, 3), rows sum to 1
    rgb_gain: float      # overall brightness gain
    red_gain: float
    blue_gain: float
    shot: float          # noise variance = shot * signal + read
    read: float

    @property
    def gains(self) -> np.ndarray:
        """Per-channel white balance and brightness gains (R, G, B)."""
        return self.rgb_gain * np.array([self.red_gain, 1.0, self.blue_gain], np.float32)


def random_camera(rng: np.random.Generator, ccm_spread: float = 0.2) -> Camera:
    """Gains and noise levels drawn as in Brooks et al. (their sec. 3): rgb gain 1/N(0.8, 0.1), red
    U(1.9, 2.4), blue U(1.5, 1.9); log shot U(log 1e-4, log 1.2e-2), log read = 2.18 log shot + 1.2
    + N(0, 0.26)."""
    m = np.eye(3) + rng.uniform(-ccm_spread, ccm_spread, (3, 3)) * (1 - np.eye(3))
    m = m / m.sum(1, keepdims=True)
    log_shot = rng.uniform(np.log(1e-4), np.log(1.2e-2))
    log_read = 2.18 * log_shot + 1.2 + rng.normal(0, 0.26)
    return Camera(m.astype(np.float32), float(1 / rng.normal(0.8, 0.1)), float(rng.uniform(1.9, 2.4)),
                  float(rng.uniform(1.5, 1.9)), float(np.exp(log_shot)), float(np.exp(log_read)))


def _tone(x):  # smoothstep, the global tone curve
    return 3 * x ** 2 - 2 * x ** 3


def _inverse_tone(x):
    return 0.5 - np.sin(np.arcsin(1 - 2 * np.clip(x, 0, 1)) / 3)


def unprocess(rgb: np.ndarray, cam: Camera) -> np.ndarray:
    """sRGB photo (3, H, W) in [0, 1] -> linear camera RGB before white balance, in [0, 1]."""
    lin = np.maximum(_inverse_tone(rgb), 1e-8) ** GAMMA
    lin = np.einsum("ij,jhw->ihw", cam.rgb2cam, lin)
    return np.clip(lin / cam.gains[:, None, None], 0, 1).astype(np.float32)


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) -> RGGB Bayer mosaic packed as (4, H/2, W/2): R, G (red rows), G (blue rows), B."""
    if rgb.shape[1] % 2 or rgb.shape[2] % 2:
        raise ValueError(f"mosaic needs even height and width; got {rgb.shape[1:]}")
    return np.stack([rgb[0, 0::2, 0::2], rgb[1, 0::2, 1::2], rgb[1, 1::2, 0::2], rgb[2, 1::2, 1::2]])


def add_noise(raw: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Shot and read noise: raw + N(0, shot * raw + read), clipped to [0, 1]."""
    noisy = raw + rng.normal(size=raw.shape) * np.sqrt(cam.shot * raw + cam.read)
    return np.clip(noisy, 0, 1).astype(np.float32)


# Bilinear demosaicing: each colour's sparse full-size plane convolved with its kernel and divided
# by the same convolution of where that colour was sampled (normalised convolution), which is
# bilinear interpolation inside the image and uses only the samples that exist at its border.
_K_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4
_K_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4


def demosaic(raw: np.ndarray) -> np.ndarray:
    """Packed RGGB (4, h, w) -> RGB (3, 2h, 2w) by bilinear interpolation."""
    _, h, w = raw.shape
    planes = np.zeros((3, 2 * h, 2 * w), np.float32)
    where = np.zeros_like(planes)
    for c, (dy, dx) in zip((0, 1, 1, 2), ((0, 0), (0, 1), (1, 0), (1, 1))):  # `mosaic`'s R, G, G, B
        planes[c, dy::2, dx::2] = raw[2 * dy + dx]
        where[c, dy::2, dx::2] = 1
    k = torch.from_numpy(np.stack([_K_RB, _K_G, _K_RB]))[:, None]
    conv = lambda a: F.conv2d(torch.from_numpy(a)[None], k, padding=1, groups=3)[0]  # noqa: E731
    return (conv(planes) / conv(where)).numpy()


def process(raw: np.ndarray, cam: Camera) -> np.ndarray:
    """Packed RGGB (4, h, w) -> sRGB (3, 2h, 2w) in [0, 1]: the forward pipeline `unprocess` inverts."""
    lin = demosaic(raw) * cam.gains[:, None, None]
    lin = np.einsum("ij,jhw->ihw", np.linalg.inv(cam.rgb2cam).astype(np.float32), np.clip(lin, 0, 1))
    return np.clip(_tone(np.clip(lin, 1e-8, 1) ** (1 / GAMMA)), 0, 1).astype(np.float32)  # float error can pass 1
