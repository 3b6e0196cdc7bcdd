"""The MobileNetV2 backbone MODNet uses, with MODNet's state_dict layout (``model.features.N...``)."""

from __future__ import annotations

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s), per MobileNetV2.
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
# Channels of the five encoder outputs at 1/2, 1/4, 1/8, 1/16 and 1/32.
ENC_CHANNELS = (16, 24, 32, 96, LAST_CHANNELS)
# features[i] after which each encoder output is taken.
_ENC_TAPS = (1, 3, 6, 13, 18)


def _conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU6(inplace=True)]


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t = 1), 3x3 depthwise, 1x1 linear projection; residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers = [] if expansion == 1 else _conv_bn_relu6(cin, hidden, 1, 1)
        layers += _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden)
        layers += [nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class _MobileNetV2(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        features: list[nn.Module] = [nn.Sequential(*_conv_bn_relu6(in_channels, STEM_CHANNELS, 3, 2))]
        cin = STEM_CHANNELS
        for t, c, n, s in _STAGES:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(nn.Sequential(*_conv_bn_relu6(cin, LAST_CHANNELS, 1, 1)))
        self.features = nn.Sequential(*features)


class MobileNetV2Backbone(nn.Module):
    """Returns the encoder features at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.model = _MobileNetV2(in_channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for i, layer in enumerate(self.model.features):
            x = layer(x)
            if i in _ENC_TAPS:
                taps.append(x)
        return taps
