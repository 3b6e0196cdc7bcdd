"""MODNet exported the way its own ``onnx/export_onnx.py`` does, as the speed baseline.

Same weights (the RGB part of ours), one 3-channel input, opset 11, and MODNet's original forward:
IBNorm by slicing and concatenating, SE through ``Linear`` with ``view``/``expand_as`` (shape ops in the
graph), and the 1/8 -> 1/4 upsample computed twice (once per branch), as upstream does.
"""

from __future__ import annotations

import io
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from edgematte.model.modnet4 import IMAGE_CHANNELS, MODNet4


def _ibnorm(layer, x):
    c = layer.bnorm_channels
    return torch.cat((layer.bnorm(x[:, :c, ...].contiguous()), layer.inorm(x[:, c:, ...].contiguous())), 1)


def _block(block, x):
    for layer in block.layers:
        x = _ibnorm(layer, x) if type(layer).__name__ == "IBNorm" else layer(x)
    return x


def _seq(seq, x):
    for block in seq:
        x = _block(block, x)
    return x


class OriginalStyleMODNet(nn.Module):
    """Upstream MODNet's inference forward over a 3-channel :class:`MODNet4`'s modules."""

    def __init__(self, model3: MODNet4):
        super().__init__()
        assert model3.in_channels == IMAGE_CHANNELS
        self.m = model3

    def _up(self, x, s):
        return F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)

    def forward(self, img):
        m = self.m
        lr, hr, fb = m.lr_branch, m.hr_branch, m.f_branch
        enc2x, enc4x, _, _, enc32x = m.backbone(img)
        b, c, _, _ = enc32x.size()
        w = F.adaptive_avg_pool2d(enc32x, 1).view(b, c)
        w = lr.se_block.fc(w).view(b, c, 1, 1)
        enc32x = enc32x * w.expand_as(enc32x)
        lr16x = _block(lr.conv_lr16x, self._up(enc32x, 2))
        lr8x = _block(lr.conv_lr8x, self._up(lr16x, 2))
        img2x, img4x = self._up(img, 1 / 2), self._up(img, 1 / 4)
        enc2x = _block(hr.tohr_enc2x, enc2x)
        hr4x = _block(hr.conv_enc2x, torch.cat((img2x, enc2x), 1))
        hr4x = _block(hr.conv_enc4x, torch.cat((hr4x, _block(hr.tohr_enc4x, enc4x)), 1))
        hr4x = _seq(hr.conv_hr4x, torch.cat((hr4x, self._up(lr8x, 2), img4x), 1))
        hr2x = _seq(hr.conv_hr2x, torch.cat((self._up(hr4x, 2), enc2x), 1))
        lr4x = _block(fb.conv_lr4x, self._up(lr8x, 2))
        f2x = _block(fb.conv_f2x, torch.cat((self._up(lr4x, 2), hr2x), 1))
        return torch.sigmoid(_seq(fb.conv_f, torch.cat((self._up(f2x, 2), img), 1)))


def rgb_part(model4: MODNet4) -> MODNet4:
    """A 3-channel MODNet4 with the 4-channel model's weights minus the alpha input slices."""
    from edgematte.model.modnet4 import IMAGE_INPUT_SLOTS

    state = model4.state_dict()
    for key, start in IMAGE_INPUT_SLOTS.items():
        w = state[key]
        state[key] = torch.cat((w[:, :start + IMAGE_CHANNELS], w[:, start + model4.in_channels:]), 1)
    model3 = MODNet4(align_corners=model4.align_corners, in_channels=IMAGE_CHANNELS)
    model3.load_state_dict(state)
    return model3.eval()


def export_original_style(model4: MODNet4, width: int, height: int) -> bytes:
    """ONNX bytes of the original-style export (legacy exporter, opset 11, input ``input``, output ``output``)."""
    net = OriginalStyleMODNet(rgb_part(model4)).eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.zeros(1, IMAGE_CHANNELS, height, width), buf, opset_version=11, dynamo=False,
                          input_names=["input"], output_names=["output"])
    return buf.getvalue()
