"""The official 3-channel MODNet, rebuilt for the tests from the architecture facts
(../shared/docs/modnet-and-peers.md §1), in upstream's own form: SE with Linear + view + expand_as,
IBNorm by slicing, an ``inference`` flag, and every resize where upstream calls it.

It shares no code with ``edgematte.model`` on purpose: it is the yardstick the 4-channel model and the
checkpoint inflation are measured against. Its state_dict has the official keys (751 of them).
"""

import torch
import torch.nn.functional as F
from torch import nn


def _up(x, s):
    return F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)


class RefIBNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bnorm_channels = int(c / 2)
        self.inorm_channels = c - self.bnorm_channels
        self.bnorm = nn.BatchNorm2d(self.bnorm_channels, affine=True)
        self.inorm = nn.InstanceNorm2d(self.inorm_channels, affine=False)

    def forward(self, x):
        bn_x = self.bnorm(x[:, :self.bnorm_channels, ...].contiguous())
        in_x = self.inorm(x[:, self.bnorm_channels:, ...].contiguous())
        return torch.cat((bn_x, in_x), 1)


class RefCIR(nn.Module):
    def __init__(self, i, o, k, stride=1, padding=0, with_ibn=True, with_relu=True):
        super().__init__()
        layers = [nn.Conv2d(i, o, k, stride=stride, padding=padding, bias=True)]
        if with_ibn:
            layers.append(RefIBNorm(o))
        if with_relu:
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class RefSE(nn.Module):
    def __init__(self, i, o, reduction=1):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(i, int(i // reduction), bias=False), nn.ReLU(inplace=True),
                                nn.Linear(int(i // reduction), o, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        w = self.pool(x).view(b, c)
        w = self.fc(w).view(b, c, 1, 1)
        return x * w.expand_as(x)


def _conv_bn(i, o, s):
    return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU6(inplace=True))


class RefIR(nn.Module):
    def __init__(self, i, o, stride, t):
        super().__init__()
        h = round(i * t)
        self.use_res_connect = stride == 1 and i == o
        if t == 1:
            self.conv = nn.Sequential(
                nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(inplace=True),
                nn.Conv2d(h, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o))
        else:
            self.conv = nn.Sequential(
                nn.Conv2d(i, h, 1, 1, 0, bias=False), nn.BatchNorm2d(h), nn.ReLU6(inplace=True),
                nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(inplace=True),
                nn.Conv2d(h, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class RefMobileNetV2(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                   [6, 320, 1, 1]]
        feats = [_conv_bn(in_channels, 32, 2)]
        c_in = 32
        for t, c, n, s in setting:
            for i in range(n):
                feats.append(RefIR(c_in, c, s if i == 0 else 1, t))
                c_in = c
        feats.append(nn.Sequential(nn.Conv2d(c_in, 1280, 1, 1, 0, bias=False), nn.BatchNorm2d(1280),
                                   nn.ReLU6(inplace=True)))
        self.features = nn.Sequential(*feats)


class RefBackbone(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.model = RefMobileNetV2(in_channels)

    def forward(self, x):
        f = self.model.features
        x = f[1](f[0](x))
        enc2x = x
        x = f[3](f[2](x))
        enc4x = x
        for i in range(4, 7):
            x = f[i](x)
        enc8x = x
        for i in range(7, 14):
            x = f[i](x)
        enc16x = x
        for i in range(14, 19):
            x = f[i](x)
        return [enc2x, enc4x, enc8x, enc16x, x]


class RefLR(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.se_block = RefSE(1280, 1280, reduction=4)
        self.conv_lr16x = RefCIR(1280, 96, 5, 1, 2)
        self.conv_lr8x = RefCIR(96, 32, 5, 1, 2)
        self.conv_lr = RefCIR(32, 1, 3, 2, 1, with_ibn=False, with_relu=False)

    def forward(self, img, inference):
        enc2x, enc4x, _, _, enc32x = self.backbone(img)
        lr16x = self.conv_lr16x(_up(self.se_block(enc32x), 2))
        lr8x = self.conv_lr8x(_up(lr16x, 2))
        semantic = None if inference else torch.sigmoid(self.conv_lr(lr8x))
        return semantic, lr8x, [enc2x, enc4x]


class RefHR(nn.Module):
    def __init__(self):
        super().__init__()
        self.tohr_enc2x = RefCIR(16, 32, 1)
        self.conv_enc2x = RefCIR(32 + 3, 32, 3, 2, 1)
        self.tohr_enc4x = RefCIR(24, 32, 1)
        self.conv_enc4x = RefCIR(64, 64, 3, 1, 1)
        self.conv_hr4x = nn.Sequential(RefCIR(3 * 32 + 3, 64, 3, 1, 1), RefCIR(64, 64, 3, 1, 1),
                                       RefCIR(64, 32, 3, 1, 1))
        self.conv_hr2x = nn.Sequential(RefCIR(64, 64, 3, 1, 1), RefCIR(64, 32, 3, 1, 1), RefCIR(32, 32, 3, 1, 1),
                                       RefCIR(32, 32, 3, 1, 1))
        self.conv_hr = nn.Sequential(RefCIR(32 + 3, 32, 3, 1, 1), RefCIR(32, 1, 1, with_ibn=False, with_relu=False))

    def forward(self, img, enc2x, enc4x, lr8x, inference):
        img2x, img4x = _up(img, 1 / 2), _up(img, 1 / 4)
        enc2x = self.tohr_enc2x(enc2x)
        hr4x = self.conv_enc2x(torch.cat((img2x, enc2x), dim=1))
        hr4x = self.conv_enc4x(torch.cat((hr4x, self.tohr_enc4x(enc4x)), dim=1))
        hr4x = self.conv_hr4x(torch.cat((hr4x, _up(lr8x, 2), img4x), dim=1))
        hr2x = self.conv_hr2x(torch.cat((_up(hr4x, 2), enc2x), dim=1))
        detail = None if inference else torch.sigmoid(self.conv_hr(torch.cat((_up(hr2x, 2), img), dim=1)))
        return detail, hr2x


class RefFusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_lr4x = RefCIR(32, 32, 5, 1, 2)
        self.conv_f2x = RefCIR(64, 32, 3, 1, 1)
        self.conv_f = nn.Sequential(RefCIR(32 + 3, 16, 3, 1, 1), RefCIR(16, 1, 1, with_ibn=False, with_relu=False))

    def forward(self, img, lr8x, hr2x):
        lr2x = _up(self.conv_lr4x(_up(lr8x, 2)), 2)
        f = _up(self.conv_f2x(torch.cat((lr2x, hr2x), dim=1)), 2)
        return torch.sigmoid(self.conv_f(torch.cat((f, img), dim=1)))


class RefMODNet(nn.Module):
    """Official MODNet, 3 input channels."""

    def __init__(self):
        super().__init__()
        self.backbone = RefBackbone(3)
        self.lr_branch = RefLR(self.backbone)
        self.hr_branch = RefHR()
        self.f_branch = RefFusion()

    def forward(self, img, inference=True):
        semantic, lr8x, (enc2x, enc4x) = self.lr_branch(img, inference)
        detail, hr2x = self.hr_branch(img, enc2x, enc4x, lr8x, inference)
        return semantic, detail, self.f_branch(img, lr8x, hr2x)


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and random BatchNorm statistics, so no slot can hide behind a zero or a one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.5)
            elif name.endswith("running_mean") or name.endswith(".bias"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif t.dim() == 1:  # BN weight
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    return model.eval()
