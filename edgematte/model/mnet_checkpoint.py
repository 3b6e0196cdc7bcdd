"""Loading and saving M-Net checkpoints (:class:`edgematte.model.mnet.MNet`).

Accepted as they are: a training script's ``{"epoch", "model": state_dict, "optimizer"}`` and a bare state_dict,
with or without ``module.`` (``nn.DataParallel``). The width multiplier is read from the file (``conv_1_1``'s
output channels over 64). Files are read weights-only (:func:`edgematte.model.modnet_checkpoint.read_checkpoint_file`).
edgematte's own M-Net checkpoints keep the training script's layout (so the reproductions' tools read them):
``{"epoch", "model", "optimizer", "step"}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from edgematte.checksum import sha256_of
from edgematte.errors import CheckpointError
from edgematte.model.modnet_checkpoint import check_keys, check_values, load_object, save_atomically, unpack_checkpoint
from edgematte.model.mnet import ENCODER, WIDTHS, MNet

FIRST_CONV = "conv_1_1.0.weight"
RAW_MEAN, RAW_SPREAD = 0.5, 0.2  # the embedded default's raw alpha on a random input
WHAT = "an M-Net checkpoint ({'epoch', 'model': state_dict, 'optimizer'} or a state_dict)"


@dataclass(frozen=True)
class LoadedMNet:
    model: MNet
    source: str           # "mnet-checkpoint" | "embedded-default"
    trained: bool
    path: str | None = None
    sha256: str | None = None
    epoch: int | None = None

    def describe(self) -> dict:
        return {"network": "mnet", "source": self.source, "path": self.path, "sha256": self.sha256,
                "trained": self.trained, "width": self.model.width, "epoch": self.epoch}


def default_mnet(seed: int, width: float = 1.0) -> LoadedMNet:
    """The embedded default: M-Net with a fixed seed, untrained. PyTorch's initialisation leaves the raw alpha
    within about 0.01 of zero (at full width all below it, so the fusion's clip would hide everything from
    verification); ``conv_0`` is rescaled so the raw alpha of a random input has mean 0.5 and spread 0.2."""
    check_width(width)
    torch.manual_seed(seed)
    model = MNet(width).eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    trimap = torch.randint(0, 3, (1, 1, 64, 64)).float() / 2
    with torch.no_grad():
        raw = model.raw_alpha(image, trimap)
        gain = RAW_SPREAD / float(raw.std())
        model.conv_0.weight.mul_(gain)
        model.conv_0.bias.mul_(gain).add_(RAW_MEAN - float(raw.mean()) * gain)
    return LoadedMNet(model, "embedded-default", trained=False)


def check_width(width: float) -> float:
    if width not in WIDTHS:
        raise CheckpointError(f"M-Net width {width:g} is not one of {', '.join(f'{w:g}' for w in WIDTHS)}")
    return width


def is_mnet_checkpoint(path: str | os.PathLike) -> bool:
    """Whether a readable checkpoint file holds M-Net's first convolution (for ``info``); False otherwise."""
    from edgematte.errors import EdgematteError

    try:
        state, _ = unpack_checkpoint(Path(path), load_object(Path(path), WHAT), WHAT)
    except EdgematteError:
        return False
    return FIRST_CONV in state


def load_mnet_checkpoint(path: str | os.PathLike) -> LoadedMNet:
    path = Path(path)
    obj = load_object(path, WHAT)
    state, _ = unpack_checkpoint(path, obj, WHAT)
    epoch = obj.get("epoch") if isinstance(obj, dict) else None
    first = state.get(FIRST_CONV)
    if first is None or first.dim() != 4:
        raise CheckpointError(f"{path} is not an M-Net checkpoint: it has no {FIRST_CONV}; give {WHAT}")
    width = first.shape[0] / ENCODER[0][0]
    if width not in WIDTHS:
        raise CheckpointError(f"{path}: {FIRST_CONV} has {first.shape[0]} output channels, a width of {width:g}; "
                              f"edgematte builds M-Net at widths {', '.join(f'{w:g}' for w in WIDTHS)}")
    with torch.device("meta"):
        check_keys(path, state, MNet(width), what="an M-Net")
    check_values(path, state)
    model = MNet(width)
    model.load_state_dict(state, strict=False)  # num_batches_tracked may be absent
    return LoadedMNet(model.eval(), "mnet-checkpoint", trained=True, path=str(path), sha256=sha256_of(path),
                      epoch=epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None)


def save_mnet_checkpoint(model: MNet, path: str | os.PathLike, epoch: int = 0, step: int = 0,
                         optimizer: dict | None = None) -> Path:
    """Save in the training script's layout; written to a temporary file, then renamed."""
    payload = {"epoch": int(epoch), "step": int(step), "model": model.state_dict(), "optimizer": optimizer or {}}
    return save_atomically(payload, Path(path))
