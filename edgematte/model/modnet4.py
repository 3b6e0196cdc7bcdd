"""MODNet (MobileNetV2, trimap-free) taking RGB plus the previous frame's alpha.

The state_dict keys are MODNet's own (``backbone.*``, ``lr_branch.*``, ``hr_branch.*``, ``f_branch.*``,
with the backbone registered twice, as upstream does), so official checkpoints load by name.

Where the previous alpha enters: everywhere the image enters (the backbone stem, and the image
concatenations at 1/2, 1/4 and full resolution in the detail and fusion branches). Flicker lives on
boundaries (hair, hands), and those are refined by the high-resolution branches; an alpha given to the
stem alone would reach them only through five strided stages, at 1/32 of the resolution. The cost is
one more input channel on four convolutions (about 0.5 % of the MACs). See docs/model.md.

``forward(image, prev_alpha) -> alpha`` is the deployment form: one output, no ``inference`` flag, SE
linears applied as 1×1 convolutions, no shape arithmetic, so a trace has static shapes only.
``forward_train`` also returns the semantic (1/16) and detail predictions MODNet is trained with; both
paths share the same parameters and keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgematte.model.mobilenetv2 import ENC_CHANNELS, MobileNetV2Backbone

IMAGE_CHANNELS = 3
ALPHA_CHANNELS = 1
IN_CHANNELS = IMAGE_CHANNELS + ALPHA_CHANNELS
HR_CHANNELS = 32
# Initial gain of the previous-alpha input relative to MODNet's kaiming init. A useful model reacts to
# its previous alpha as a contraction. With the full init the random network's feedback is chaotic:
# max|d alpha_out| / max|d prev_alpha| is ~25 at 512x288, ~3 at 0.1x, ~1.4 at 0.03x and ~0.34 at 0.01x,
# so at 0.01x float rounding differences between runtimes shrink along a rollout instead of growing.
# (Inflated checkpoints start at exactly zero; see modnet_checkpoint.py.)
ALPHA_INIT_SCALE = 0.01

# The convolution weights whose input channels include the image, with the index at which the image's
# channels start in their input. A 3-channel checkpoint is inflated by inserting the alpha channel(s)
# right after the image's channels, with zero weights (see modnet_checkpoint.py).
IMAGE_INPUT_SLOTS = {
    "backbone.model.features.0.0.weight": 0,
    "lr_branch.backbone.model.features.0.0.weight": 0,
    "hr_branch.conv_enc2x.layers.0.weight": 0,                   # cat(img2x, enc2x)
    "hr_branch.conv_hr4x.0.layers.0.weight": 3 * HR_CHANNELS,   # cat(hr4x, lr4x, img4x)
    "f_branch.conv_f.0.layers.0.weight": HR_CHANNELS,            # cat(f, img)
    "hr_branch.conv_hr.0.layers.0.weight": HR_CHANNELS,          # cat(hr, img), training head
}


class IBNorm(nn.Module):
    """BatchNorm on the first half of the channels, InstanceNorm (no parameters) on the rest."""

    def __init__(self, channels: int):
        super().__init__()
        self.bnorm_channels = channels // 2
        self.inorm_channels = channels - self.bnorm_channels
        self.bnorm = nn.BatchNorm2d(self.bnorm_channels, affine=True)
        self.inorm = nn.InstanceNorm2d(self.inorm_channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn_half, in_half = torch.split(x, [self.bnorm_channels, self.inorm_channels], dim=1)
        return torch.cat((self.bnorm(bn_half), self.inorm(in_half)), dim=1)


class Conv2dIBNormRelu(nn.Module):
    """Conv (with bias), then IBNorm and ReLU unless switched off; parameters under ``layers.N``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0,
                 with_ibn: bool = True, with_relu: bool = True):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, padding, bias=True)]
        if with_ibn:
            layers.append(IBNorm(cout))
        if with_relu:
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SEBlock(nn.Module):
    """Squeeze-and-excitation; the two Linear layers keep MODNet's keys but run as 1×1 convolutions."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(channels // reduction, channels, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.adaptive_avg_pool2d(x, 1)
        w = F.relu(F.conv2d(w, self.fc[0].weight[:, :, None, None]))
        w = torch.sigmoid(F.conv2d(w, self.fc[2].weight[:, :, None, None]))
        return x * w


class LRBranch(nn.Module):
    def __init__(self, backbone: MobileNetV2Backbone):
        super().__init__()
        self.backbone = backbone
        self.se_block = SEBlock(ENC_CHANNELS[4], reduction=4)
        self.conv_lr16x = Conv2dIBNormRelu(ENC_CHANNELS[4], ENC_CHANNELS[3], 5, padding=2)
        self.conv_lr8x = Conv2dIBNormRelu(ENC_CHANNELS[3], ENC_CHANNELS[2], 5, padding=2)
        self.conv_lr = Conv2dIBNormRelu(ENC_CHANNELS[2], 1, 3, stride=2, padding=1, with_ibn=False, with_relu=False)


class HRBranch(nn.Module):
    def __init__(self, src_channels: int):
        super().__init__()
        h = HR_CHANNELS
        self.tohr_enc2x = Conv2dIBNormRelu(ENC_CHANNELS[0], h, 1)
        self.conv_enc2x = Conv2dIBNormRelu(h + src_channels, h, 3, stride=2, padding=1)
        self.tohr_enc4x = Conv2dIBNormRelu(ENC_CHANNELS[1], h, 1)
        self.conv_enc4x = Conv2dIBNormRelu(2 * h, 2 * h, 3, padding=1)
        self.conv_hr4x = nn.Sequential(Conv2dIBNormRelu(3 * h + src_channels, 2 * h, 3, padding=1),
                                       Conv2dIBNormRelu(2 * h, 2 * h, 3, padding=1),
                                       Conv2dIBNormRelu(2 * h, h, 3, padding=1))
        self.conv_hr2x = nn.Sequential(Conv2dIBNormRelu(2 * h, 2 * h, 3, padding=1),
                                       Conv2dIBNormRelu(2 * h, h, 3, padding=1),
                                       Conv2dIBNormRelu(h, h, 3, padding=1),
                                       Conv2dIBNormRelu(h, h, 3, padding=1))
        self.conv_hr = nn.Sequential(Conv2dIBNormRelu(h + src_channels, h, 3, padding=1),
                                     Conv2dIBNormRelu(h, 1, 1, with_ibn=False, with_relu=False))


class FusionBranch(nn.Module):
    def __init__(self, src_channels: int):
        super().__init__()
        h = HR_CHANNELS
        self.conv_lr4x = Conv2dIBNormRelu(ENC_CHANNELS[2], h, 5, padding=2)
        self.conv_f2x = Conv2dIBNormRelu(2 * h, h, 3, padding=1)
        self.conv_f = nn.Sequential(Conv2dIBNormRelu(h + src_channels, h // 2, 3, padding=1),
                                    Conv2dIBNormRelu(h // 2, 1, 1, with_ibn=False, with_relu=False))


class MODNet4(nn.Module):
    """MODNet on RGB (normalised to [-1, 1]) plus the previous frame's alpha (in [0, 1]).

    Args:
        align_corners: the resize semantics the weights were trained with. MODNet's checkpoints use
            bilinear with ``align_corners=False``; a model fine-tuned with ``True`` lowers to a cheaper
            Caffe ``Interp`` on the HiLens Kit.
        in_channels: 4 (RGB + alpha). 3 builds plain MODNet (no alpha input), used to check inflation.
    """

    def __init__(self, align_corners: bool = False, in_channels: int = IN_CHANNELS):
        super().__init__()
        if in_channels not in (IMAGE_CHANNELS, IN_CHANNELS):
            raise ValueError(f"in_channels must be {IMAGE_CHANNELS} or {IN_CHANNELS}, got {in_channels}")
        self.align_corners = align_corners
        self.in_channels = in_channels
        self.backbone = MobileNetV2Backbone(in_channels)
        self.lr_branch = LRBranch(self.backbone)
        self.hr_branch = HRBranch(in_channels)
        self.f_branch = FusionBranch(in_channels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if in_channels == IN_CHANNELS:
            with torch.no_grad():
                for weight, start in {id(w): (w, s) for w, s in self._image_input_weights()}.values():
                    weight[:, start + IMAGE_CHANNELS:start + IN_CHANNELS] *= ALPHA_INIT_SCALE

    def _image_input_weights(self):
        """(weight, index of the image's first channel) for each convolution that sees the image."""
        return [(self.get_parameter(key), start) for key, start in IMAGE_INPUT_SLOTS.items()]

    def _resize(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=self.align_corners)

    def _src(self, image: torch.Tensor, prev_alpha: torch.Tensor | None) -> torch.Tensor:
        if self.in_channels == IMAGE_CHANNELS:
            return image
        # The alpha enters in the image's range, [-1, 1].
        return torch.cat((image, prev_alpha * 2 - 1), dim=1)

    def _run(self, image: torch.Tensor, prev_alpha: torch.Tensor | None, heads: bool):
        lr, hr, fb = self.lr_branch, self.hr_branch, self.f_branch
        src = self._src(image, prev_alpha)
        src2x, src4x = self._resize(src, 0.5), self._resize(src, 0.25)

        enc2x, enc4x, _, _, enc32x = self.backbone(src)
        lr16x = lr.conv_lr16x(self._resize(lr.se_block(enc32x), 2))
        lr8x = lr.conv_lr8x(self._resize(lr16x, 2))

        enc2x = hr.tohr_enc2x(enc2x)
        hr4x = hr.conv_enc2x(torch.cat((src2x, enc2x), dim=1))
        hr4x = hr.conv_enc4x(torch.cat((hr4x, hr.tohr_enc4x(enc4x)), dim=1))
        lr4x = self._resize(lr8x, 2)  # shared by the detail and fusion branches (upstream resizes twice)
        hr4x = hr.conv_hr4x(torch.cat((hr4x, lr4x, src4x), dim=1))
        hr2x = hr.conv_hr2x(torch.cat((self._resize(hr4x, 2), enc2x), dim=1))

        f4x = fb.conv_lr4x(lr4x)
        f2x = fb.conv_f2x(torch.cat((self._resize(f4x, 2), hr2x), dim=1))
        matte = torch.sigmoid(fb.conv_f(torch.cat((self._resize(f2x, 2), src), dim=1)))
        if not heads:
            return matte
        semantic = torch.sigmoid(lr.conv_lr(lr8x))
        detail = torch.sigmoid(hr.conv_hr(torch.cat((self._resize(hr2x, 2), src), dim=1)))
        return semantic, detail, matte

    def deployable(self) -> "MODNet4":
        """The graph the routes export: this one (every layer of MODNet exports as it is)."""
        return self

    def forward(self, image: torch.Tensor, prev_alpha: torch.Tensor | None = None) -> torch.Tensor:
        """image 1×3×H×W in [-1, 1], prev_alpha 1×1×H×W in [0, 1] -> alpha 1×1×H×W in [0, 1]."""
        return self._run(image, prev_alpha, heads=False)

    def forward_train(self, image: torch.Tensor, prev_alpha: torch.Tensor | None = None):
        """(semantic at 1/16, detail at full size, matte), all after a sigmoid, as MODNet trains them."""
        return self._run(image, prev_alpha, heads=True)
