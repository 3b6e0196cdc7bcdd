"""SHM's M-Net (Chen et al., "Semantic Human Matting", ACM MM 2018): a trimap-guided encoder–decoder that
refines the matte where the trimap is unknown.

The layer names are those of the public M-Net reproductions, so their checkpoints load by name: an encoder of
``conv_S_I = Sequential(Conv2d k3 p1, BatchNorm2d, ReLU)`` in five stages (64, 128, 256, 512, 512 channels)
with 2×2 max pooling (``max_pooling_1..4``) after stages 1–4, and a decoder of
``Sequential(Conv2d k5 p2, BatchNorm2d, ReLU)`` (``deconv_5..1``) with ``up_pool_4..1`` max-unpooling by the
encoder's indices, then ``conv_0`` (64 → 1, k5) giving the raw alpha.

Inputs: ``image`` (1×3×H×W, normalised like MODNet's) and ``trimap`` (1×1×H×W: 0 background, 0.5 unknown,
1 foreground). The one-hot (background, unknown, foreground) is made inside the network with ReLUs, exact
for those three values (a value in between gives the linear mix of its two neighbours' one-hots):
``fg = ReLU(2t − 1)``, ``bg = ReLU(1 − 2t)``, ``unknown = 1 − fg − bg``. The output is SHM's fusion with the
hard trimap: ``alpha = fg + unknown · clip(raw, 0, 1)``.

Two unpooling modes share all weights: ``index_free=False`` (training) uses the pooling indices;
``index_free=True`` (export) uses :func:`edgematte.model.unpool.max_unpool2x2_index_free`, which computes the
same thing exactly from the pre-pool activations. ``width`` scales every channel count (0.5, 0.25: lighter
refiners; cost in docs/mnet.md); the full width is the default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgematte.model.unpool import max_unpool2x2_index_free

IMAGE_CHANNELS = 3
TRIMAP_CLASSES = 3  # background, unknown, foreground
IN_CHANNELS = IMAGE_CHANNELS + TRIMAP_CLASSES
ENCODER = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
DECODER = (512, 256, 128, 64, 64)  # deconv_5 .. deconv_1 outputs
POOLS = 4
SIZE_MULTIPLE = 2 ** POOLS  # every pooled map must have even sides
WIDTHS = (1.0, 0.5, 0.25)


def scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def _conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=True), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def trimap_one_hot(trimap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(background, unknown, foreground) from a 0 / 0.5 / 1 trimap, each N×1×H×W; exact for those values."""
    fg = F.relu(trimap * 2.0 - 1.0)
    bg = F.relu(trimap * -2.0 + 1.0)
    unknown = (fg + bg) * -1.0 + 1.0
    return bg, unknown, fg


class MNet(nn.Module):
    """M-Net; ``forward(image, trimap) -> alpha`` (the fused matte), ``forward_train`` also the raw alpha."""

    def __init__(self, width: float = 1.0, index_free: bool = False):
        super().__init__()
        self.width = float(width)
        self.index_free = index_free
        cin = IN_CHANNELS
        for stage, outs in enumerate(ENCODER, start=1):
            for i, cout in enumerate(outs, start=1):
                cout = scaled(cout, width)
                setattr(self, f"conv_{stage}_{i}", _conv_bn_relu(cin, cout, 3))
                cin = cout
            if stage <= POOLS:
                setattr(self, f"max_pooling_{stage}", nn.MaxPool2d(2, 2, return_indices=True))
        for stage, cout in zip(range(5, 0, -1), DECODER):
            if stage <= POOLS:
                setattr(self, f"up_pool_{stage}", nn.MaxUnpool2d(2, 2))
            cout = scaled(cout, width)
            setattr(self, f"deconv_{stage}", _conv_bn_relu(cin, cout, 5))
            cin = cout
        self.conv_0 = nn.Conv2d(cin, 1, 5, 1, 2, bias=True)

    def deployable(self) -> "MNet":
        """The graph the routes export: the same weights with the index-free unpooling, in eval mode; ``self`` is
        unchanged (ONNX and Caffe cannot carry max-unpooling by indices)."""
        copy = MNet(self.width, index_free=True)
        copy.load_state_dict(self.state_dict())
        return copy.eval()

    def raw_alpha(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """conv_0's output (no sigmoid, no fusion)."""
        bg, unknown, fg = trimap_one_hot(trimap)
        x = torch.cat((image, bg, unknown, fg), dim=1)
        skips = []
        for stage, outs in enumerate(ENCODER, start=1):
            for i in range(1, len(outs) + 1):
                x = getattr(self, f"conv_{stage}_{i}")(x)
            if stage <= POOLS:
                if self.index_free:
                    pooled = F.max_pool2d(x, 2, 2)
                    skips.append((x, pooled))
                else:
                    pooled, indices = getattr(self, f"max_pooling_{stage}")(x)
                    skips.append((x, indices))
                x = pooled
        for stage in range(5, 0, -1):
            if stage <= POOLS:
                before, memo = skips[stage - 1]
                if self.index_free:
                    x = max_unpool2x2_index_free(x, before, memo)
                else:
                    x = getattr(self, f"up_pool_{stage}")(x, memo, output_size=before.shape[2:])
            x = getattr(self, f"deconv_{stage}")(x)
        return self.conv_0(x)

    @staticmethod
    def fuse(raw: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """SHM's fusion with the hard trimap: foreground + unknown · clip(raw, 0, 1)."""
        _, unknown, fg = trimap_one_hot(trimap)
        return fg + unknown * torch.clamp(raw, 0.0, 1.0)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.raw_alpha(image, trimap), trimap)

    def forward_train(self, image: torch.Tensor, trimap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.raw_alpha(image, trimap)
        return raw, self.fuse(raw, trimap)
