"""What the trainer refuses to train on: an M-Net batch with no unknown band (its loss would be 0)."""

import pytest
import torch

from edgematte.spec import resolve_spec
from edgematte.train.trainer import MnetTask, TrainConfig, TrainError


def test_an_mnet_batch_without_an_unknown_band_is_refused_not_trained_on_a_zero_loss():
    spec = resolve_spec(size="64x64", model="mnet")
    task = MnetTask(TrainConfig(data="x", out="y", model="mnet"), spec)
    shape = (2, 1, 64, 64)
    batch = {"alpha": torch.ones(shape), "trimap": torch.ones(shape), "image": torch.zeros(2, 3, 64, 64),
             "fg": torch.zeros(2, 3, 64, 64), "bg": torch.zeros(2, 3, 64, 64)}
    outputs = (torch.zeros(shape), torch.full(shape, 0.5))
    with pytest.raises(TrainError, match="no sample of this batch has an unknown band"):
        task.losses(outputs, batch)
    batch["trimap"][0, 0, :8, :8] = 0.5  # one sample with a band: trained on
    assert task.losses(outputs, batch)["loss"] > 0
