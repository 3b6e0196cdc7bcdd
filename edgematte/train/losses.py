"""MODNet's losses, written from their definitions (shared/docs/matting-metrics.md §4.2), and M-Net's.

- semantic: 10 × MSE between the 1/16 prediction and the alpha downsampled to 1/16 and blurred (3×3 Gaussian);
- detail: 10 × L1 over all pixels after replacing prediction and target with the trimap value outside the
  trimap's unknown band (an L1 inside the band, diluted by the pixel count, as MODNet computes it);
- matte: L1 + 4 × band L1, plus the same two terms on compositions (image × alpha).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SEMANTIC_SCALE, DETAIL_SCALE, MATTE_SCALE = 10.0, 10.0, 1.0
BAND_WEIGHT = 4.0


def _blur3(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    k = (k[:, None] * k[None, :]) / 16
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k[None, None].expand(x.shape[1], 1, 3, 3), groups=x.shape[1])


def modnet_losses(semantic, detail, matte, alpha, trimap, image) -> dict[str, torch.Tensor]:
    target = _blur3(F.interpolate(alpha, size=semantic.shape[2:], mode="bilinear", align_corners=False))
    semantic_loss = SEMANTIC_SCALE * F.mse_loss(semantic, target)
    known = trimap != 0.5
    detail_loss = DETAIL_SCALE * F.l1_loss(torch.where(known, trimap, detail), torch.where(known, trimap, alpha))
    banded = torch.where(known, trimap, matte)
    l1 = F.l1_loss(matte, alpha) + BAND_WEIGHT * F.l1_loss(banded, alpha)
    comp = F.l1_loss(image * matte, image * alpha) + BAND_WEIGHT * F.l1_loss(image * banded, image * alpha)
    matte_loss = MATTE_SCALE * (l1 + comp)
    return {"semantic": semantic_loss, "detail": detail_loss, "matte": matte_loss,
            "loss": semantic_loss + detail_loss + matte_loss}


# M-Net (SHM, pretraining M-Net on ground-truth trimaps): alpha L1 and compositional L1 over the unknown band,
# weighted equally (SHM's gamma = 0.5).
MNET_ALPHA_WEIGHT = 0.5


def mnet_losses(fused, alpha, trimap, image, fg, bg) -> dict[str, torch.Tensor]:
    """``fused``: M-Net's alpha (the trimap's known regions, its own in the unknown band). Each sample's band
    mean, then the batch mean: every patch counts alike, and N processes sharing a batch compute one's loss."""
    unknown = (trimap == 0.5).to(fused.dtype)
    count = unknown.sum(dim=(1, 2, 3)).clamp(min=1.0)
    alpha_loss = ((torch.abs(fused - alpha) * unknown).sum(dim=(1, 2, 3)) / count).mean()
    composite = fused * fg + (1 - fused) * bg
    comp_loss = ((torch.abs(composite - image) * unknown).sum(dim=(1, 2, 3)) / (3 * count)).mean()
    loss = MNET_ALPHA_WEIGHT * alpha_loss + (1 - MNET_ALPHA_WEIGHT) * comp_loss
    return {"alpha": alpha_loss, "composition": comp_loss, "loss": loss}
