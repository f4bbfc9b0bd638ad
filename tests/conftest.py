import numpy as np
import pytest
import torch

import hyperscale.shape_adaptor  # noqa: F401  (registers the classifiers)
import hyperscale.sshn  # noqa: F401  (registers the segmentation models)
from hyperscale.core.data import Dataset, Split


@pytest.fixture
def toy_data() -> Dataset:
    """A tiny random 3-class dataset: enough to exercise training code in well under a second."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = np.zeros((n, 16, 16), np.uint8)
        labels[:, 4:12, 4:12] = 1
        labels[:, 6:9, 6:9] = 2
        images = (labels[:, None] / 2 + rng.normal(0, 0.1, (n, 1, 16, 16))).astype(np.float32)
        return Split(images=images, labels=labels)

    return Dataset("toy", ["background", "a", "b"], {"train": split(8), "val": split(4), "test": split(4)})


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
