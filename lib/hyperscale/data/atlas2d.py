"""atlas2d: multi-label 2D brain segmentation built offline from one real brain.

The OASIS-2D stand-in of this study (SSHN §4.2 uses OASIS: 24 FreeSurfer structures in a 2D
coronal slice). Source: Debian's `mricron-data` package ships the Colin27 T1 template
(`ch2bet.nii.gz`, skull-stripped; one healthy adult scanned 27 times, MNI) and the AAL atlas
(`aal.nii.gz`, Tzourio-Mazoyer et al. 2002, 116 regions) on the same 1 mm grid. This is **one
real brain plus synthetic variation**, not a population of subjects.

Recipe (every number is a parameter in params.yaml `data.atlas2d`):
1. Labels: AAL's 116 regions merged left/right into 20 structures (`GROUPS`); three tissue
   classes that AAL leaves out are added from the smoothed T1 intensity (3-means on brain
   voxels): white matter (bright, overrides cortical AAL labels but not deep grey nuclei),
   CSF (dark, overrides everything) and "other tissue" (remaining brain with no AAL label,
   mostly brainstem). 23 foreground classes + background.
2. Coronal slices whose brain area is at least `min_brain_fraction` of the largest one.
3. Splits by position along the anterior-posterior axis in repeating blocks
   (`split_pattern` = train, gap, val, gap, test, gap slices) so no test slice has a
   near-copy neighbour in the training set.
4. Every sample is one "synthetic subject": a random affine (rotation, scale, shift) and a
   smooth elastic warp resample the slice (one field for image and labels, nearest
   neighbour for labels) at `warp_factor` x the final size, then gamma, a smooth
   multiplicative bias field and Gaussian noise change the intensities; finally block
   averaging (image) and majority vote (labels) shrink it to `size`. Each (split, slice,
   copy) has its own seed, so the result does not depend on processing order.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ..core.data import DataMissingError, Dataset, Split

TEMPLATES = Path("/usr/share/mricron/templates")
DEBIAN_PACKAGE = "mricron-data"
SOURCE_FILES = {"t1": "ch2bet.nii.gz", "atlas": "aal.nii.gz", "names": "aal.nii.txt"}

# Structure -> AAL region names with the _L/_R suffix removed (lobes and nuclei, after the
# AAL naming scheme). Order fixes the label values 1..20.
GROUPS = {
    "frontal": ("Frontal_Sup", "Frontal_Mid", "Frontal_Inf_Oper", "Frontal_Inf_Tri",
                "Frontal_Sup_Medial", "Supp_Motor_Area"),
    "orbitofrontal": ("Frontal_Sup_Orb", "Frontal_Mid_Orb", "Frontal_Inf_Orb", "Frontal_Med_Orb",
                      "Rectus", "Olfactory"),
    "sensorimotor": ("Precentral", "Postcentral", "Paracentral_Lobule", "Rolandic_Oper"),
    "parietal": ("Parietal_Sup", "Parietal_Inf", "SupraMarginal", "Angular"),
    "precuneus": ("Precuneus",),
    "occipital": ("Calcarine", "Cuneus", "Lingual", "Occipital_Sup", "Occipital_Mid", "Occipital_Inf"),
    "temporal": ("Heschl", "Temporal_Sup", "Temporal_Mid", "Temporal_Inf"),
    "temporal_pole": ("Temporal_Pole_Sup", "Temporal_Pole_Mid"),
    "fusiform": ("Fusiform",),
    "insula": ("Insula",),
    "cingulate": ("Cingulum_Ant", "Cingulum_Mid", "Cingulum_Post"),
    "hippocampus": ("Hippocampus",),
    "parahippocampal": ("ParaHippocampal",),
    "amygdala": ("Amygdala",),
    "caudate": ("Caudate",),
    "putamen": ("Putamen",),
    "pallidum": ("Pallidum",),
    "thalamus": ("Thalamus",),
    "cerebellum": tuple(f"Cerebelum_{p}" for p in ("Crus1", "Crus2", "3", "4_5", "6", "7b", "8", "9", "10")),
    "vermis": tuple(f"Vermis_{p}" for p in ("1_2", "3", "4_5", "6", "7", "8", "9", "10")),
}
DEEP_GREY = ("hippocampus", "amygdala", "caudate", "putamen", "pallidum", "thalamus")
TISSUE = ("white_matter", "csf", "other_tissue")
LABEL_NAMES = ["background", *GROUPS, *TISSUE]

# Strength of the synthetic variation (params.yaml data.atlas2d.augment overrides):
AUGMENT = {
    "rotation_deg": 10.0,  # in-plane rotation, uniform +-
    "scale": 0.08,         # isotropic scale, uniform +- (head-size variation)
    "shift_mm": 3.0,       # translation per axis, uniform +-
    "elastic_ctrl": 5,     # control points per side of the elastic field
    "elastic_mm": 2.5,     # std of the elastic displacement at the control points
    "log_gamma": 0.3,      # gamma = exp(U(-a, a)): contrast change
    "bias": 0.15,          # std of the log bias field (smooth, 4x4 control points)
    "noise": 0.03,         # Gaussian noise std drawn from U(0, a) per sample
}


def _require_sources(templates_dir: Path) -> dict[str, Path]:
    paths = {k: Path(templates_dir) / f for k, f in SOURCE_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise DataMissingError(
            f"atlas2d is built from the Debian package `{DEBIAN_PACKAGE}` (Colin27 T1 + AAL atlas), "
            f"which is not installed: missing {', '.join(missing)}. Install it with "
            f"`sudo apt-get install {DEBIAN_PACKAGE}` (or run `make setup` as root), or set "
            f"data.atlas2d.templates_dir in params.yaml to a folder holding {sorted(SOURCE_FILES.values())}.")
    return paths


def _aal_to_group(names_file: Path) -> np.ndarray:
    """Lookup table AAL value -> structure label (0 for AAL values outside GROUPS)."""
    base_to_label = {b: i + 1 for i, bases in enumerate(GROUPS.values()) for b in bases}
    lut = np.zeros(256, np.uint8)
    for line in names_file.read_text().splitlines():
        if not line.strip():
            continue
        value, name = line.split()[:2]
        base = re.sub(r"_[LR]$", "", name)
        if base not in base_to_label:
            raise ValueError(f"AAL region {name!r} is in no atlas2d group; update GROUPS")
        lut[int(value)] = base_to_label[base]
    return lut


def _three_means(values: np.ndarray, iters: int = 50) -> np.ndarray:
    """Centres of a 1D 3-means clustering (CSF < grey < white intensities), deterministic init."""
    centres = np.percentile(values, [5, 50, 95]).astype(np.float64)
    for _ in range(iters):
        assign = np.argmin(np.abs(values[:, None] - centres[None]), axis=1)
        centres = np.array([values[assign == k].mean() for k in range(3)])
    return np.sort(centres)


def label_volume(t1: np.ndarray, aal: np.ndarray, lut: np.ndarray) -> tuple[np.ndarray, dict]:
    """Structure labels on the template grid (step 1 of the recipe) and the thresholds used."""
    brain = ndi.binary_fill_holes(t1 > 0)
    smooth = ndi.gaussian_filter(t1, 1.0)
    c_csf, c_grey, c_white = _three_means(smooth[brain])
    t_csf, t_white = (c_csf + c_grey) / 2, (c_grey + c_white) / 2
    lab = lut[aal]
    lab[~brain] = 0
    deep = np.isin(lab, [LABEL_NAMES.index(n) for n in DEEP_GREY])
    lab[brain & (smooth >= t_white) & ~deep] = LABEL_NAMES.index("white_matter")
    lab[brain & (smooth < t_csf)] = LABEL_NAMES.index("csf")
    lab[brain & (lab == 0)] = LABEL_NAMES.index("other_tissue")
    return lab, {"csf_below": float(t_csf), "white_above": float(t_white)}


def split_of_slices(n: int, pattern) -> np.ndarray:
    """Split name per slice index ('' for gaps): blocks of train, gap, val, gap, test, gap."""
    names = ["train", "", "val", "", "test", ""]
    block = np.concatenate([[nm] * k for nm, k in zip(names, pattern)])
    return block[np.arange(n) % len(block)]


def _smooth_field(rng, shape_out, n_ctrl: int, sigma: float, channels: int) -> np.ndarray:
    """Random field: N(0, sigma) on an n_ctrl x n_ctrl grid, cubic-interpolated to shape_out."""
    ctrl = rng.normal(0.0, sigma, (channels, n_ctrl, n_ctrl))
    rr = np.linspace(0, n_ctrl - 1, shape_out[0])
    cc = np.linspace(0, n_ctrl - 1, shape_out[1])
    grid = np.stack(np.meshgrid(rr, cc, indexing="ij"))
    return np.stack([ndi.map_coordinates(c, grid, order=3, mode="nearest") for c in ctrl])


def render_sample(t1_slice, lab_slice, centre, size, warp_factor, fov_mm, aug, rng, num_classes):
    """One synthetic subject from one coronal slice (step 4 of the recipe).

    t1_slice, lab_slice: (X, Z) arrays on the 1 mm grid; returns image (H, W) float32 in
    [0, 1] and labels (H, W) uint8, superior at the top, subject's left at the left.
    """
    H, W = size
    hw, ww = H * warp_factor, W * warp_factor
    spacing = fov_mm / hw  # mm per pixel at the warp resolution
    v, u = np.meshgrid((hw / 2 - np.arange(hw) - 0.5) * spacing,  # up (z)
                       (np.arange(ww) + 0.5 - ww / 2) * spacing,  # right (x)
                       indexing="ij")
    angle = np.deg2rad(rng.uniform(-aug["rotation_deg"], aug["rotation_deg"]))
    scale = 1.0 + rng.uniform(-aug["scale"], aug["scale"])
    shift = rng.uniform(-aug["shift_mm"], aug["shift_mm"], 2)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    disp = _smooth_field(rng, (hw, ww), aug["elastic_ctrl"], aug["elastic_mm"], 2)
    x = centre[0] + cos * u - sin * v + shift[0] + disp[0]
    z = centre[1] + sin * u + cos * v + shift[1] + disp[1]
    img = ndi.map_coordinates(t1_slice, [x, z], order=1, mode="constant", cval=0.0)
    lab = ndi.map_coordinates(lab_slice, [x, z], order=0, mode="constant", cval=0)

    gamma = np.exp(rng.uniform(-aug["log_gamma"], aug["log_gamma"]))
    bias = np.exp(_smooth_field(rng, (hw, ww), 4, aug["bias"], 1)[0])
    img = np.clip(img, 0, 1) ** gamma * bias
    img = img + rng.normal(0.0, rng.uniform(0, aug["noise"]), img.shape)

    # Shrink: block mean for the image, majority vote (lowest label wins ties) for labels.
    img = img.reshape(H, warp_factor, W, warp_factor).mean(axis=(1, 3))
    onehot = np.eye(num_classes, dtype=np.float32)[lab]  # (hw, ww, K)
    votes = onehot.reshape(H, warp_factor, W, warp_factor, num_classes).sum(axis=(1, 3))
    return np.clip(img, 0, 1).astype(np.float32), votes.argmax(-1).astype(np.uint8)


def build(size=(64, 64), warp_factor=2, fov_mm=157.0, min_brain_fraction=0.1,
          split_pattern=(12, 2, 3, 2, 3, 2), copies=None, augment=None, seed=0,
          templates_dir=TEMPLATES, progress=False) -> Dataset:
    """Build atlas2d in memory (deterministic: same arguments, same arrays).

    copies: samples per slice for each split, e.g. {"train": 8, "val": 4, "test": 4}.
    augment: strengths of the random variation (see params.yaml `data.atlas2d.augment`).
    """
    import nibabel as nib
    from tqdm import tqdm

    size = tuple(int(s) for s in (size if np.iterable(size) else (size, size)))
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"atlas2d size must be (H, W) with both >= 8; got {size}")
    if warp_factor < 1 or int(warp_factor) != warp_factor:
        raise ValueError(f"warp_factor must be a positive integer; got {warp_factor}")
    if len(split_pattern) != 6:
        raise ValueError(f"split_pattern needs 6 block lengths (train, gap, val, gap, test, gap); got {split_pattern}")
    copies = copies or {"train": 8, "val": 4, "test": 4}
    unknown = set(augment or {}) - set(AUGMENT)
    if unknown:
        raise ValueError(f"unknown atlas2d augment keys {sorted(unknown)}; known: {sorted(AUGMENT)}")
    aug = {**AUGMENT, **(augment or {})}

    paths = _require_sources(templates_dir)
    t1 = np.asarray(nib.load(paths["t1"]).dataobj, dtype=np.float32)
    aal = np.asarray(nib.load(paths["atlas"]).dataobj).astype(np.intp)
    if t1.shape != aal.shape:
        raise ValueError(f"T1 {t1.shape} and AAL {aal.shape} are not on one grid")
    lab3d, thresholds = label_volume(t1, aal, _aal_to_group(paths["names"]))
    brain = lab3d > 0
    t1 = np.clip(t1 / np.percentile(t1[brain], 99.5), 0, 1)

    area = brain.sum(axis=(0, 2))  # coronal = fixed y (axis 1)
    ys = np.nonzero(area >= min_brain_fraction * area.max())[0]
    split_of = split_of_slices(len(ys), split_pattern)
    bx, bz = np.nonzero(brain.any(axis=1))
    centre = ((bx.min() + bx.max()) / 2, (bz.min() + bz.max()) / 2)
    K = len(LABEL_NAMES)

    splits = {}
    for si, split in enumerate(("train", "val", "test")):
        jobs = [(k, c) for k in np.nonzero(split_of == split)[0] for c in range(copies[split])]
        imgs = np.empty((len(jobs), 1, *size), np.float32)
        labs = np.empty((len(jobs), *size), np.uint8)
        for j, (k, c) in enumerate(tqdm(jobs, desc=f"atlas2d {split}", disable=not progress)):
            rng = np.random.default_rng([seed, si, int(ys[k]), c])
            imgs[j, 0], labs[j] = render_sample(t1[:, ys[k], :], lab3d[:, ys[k], :], centre, size,
                                                warp_factor, fov_mm, aug, rng, K)
        splits[split] = Split(images=imgs, labels=labs)

    fg = lab3d[brain]
    meta = {
        "source": {"package": DEBIAN_PACKAGE, "files": {k: str(p) for k, p in paths.items()}},
        "params": {"size": list(size), "warp_factor": warp_factor, "fov_mm": fov_mm,
                   "min_brain_fraction": min_brain_fraction, "split_pattern": list(split_pattern),
                   "copies": dict(copies), "augment": aug, "seed": seed},
        "intensity_thresholds": thresholds,
        "slices": {s: int((split_of == s).sum()) for s in ("train", "val", "test")},
        "coronal_y_range": [int(ys.min()), int(ys.max())],
        "volume_fraction": {n: float((fg == i).mean()) for i, n in enumerate(LABEL_NAMES) if i > 0},
        "groups": {n: list(b) for n, b in GROUPS.items()},
    }
    return Dataset(name="atlas2d", label_names=LABEL_NAMES, splits=splits, meta=meta)
