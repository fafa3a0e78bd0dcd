"""Image transforms: normalisation with the card's mean and std, the sizes an input_size can mean."""

import pytest
import torch

from zoobot import data
from zoobot.transforms import get_transforms, height_width


def test_normalisation_uses_mean_and_std():
    image = torch.full((3, 8, 8), 255, dtype=torch.uint8)
    out = get_transforms(8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))(image)
    assert out[:, 0, 0].tolist() == pytest.approx([2.0, 1.0, 0.5])
    grey = get_transforms(8, channels=1)(torch.full((1, 8, 8), 51, dtype=torch.uint8))
    assert grey.shape == (1, 8, 8) and grey.max().item() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="one value per channel"):
        get_transforms(8, channels=3, mean=(0.1, 0.2))


def test_input_size_forms_and_the_data_module_still_offers_the_transforms():
    assert height_width(32) == (32, 32) and height_width((20, 30)) == (20, 30) and height_width((1, 20, 30)) == (20, 30)
    with pytest.raises(ValueError, match="must be positive"):
        height_width((0, 8))
    with pytest.raises(ValueError, match=r"an int, \(H, W\) or \(C, H, W\)"):
        height_width((1, 2, 3, 4))
    assert data.get_transforms is get_transforms
