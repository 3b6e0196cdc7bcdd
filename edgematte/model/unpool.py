"""2×2 max-unpooling without indices, exact: what M-Net's decoder does, in ops both device routes carry.

Why: neither route can carry pooling indices. PyTorch cannot export ``max_unpool2d`` to ONNX
(pytorch#25088), CANN's ONNX MaxPool parser keeps one output, OpenCV 4.x DNN cannot create Caffe's
``Upsample`` and the HiLens Kit documents no ``Pooling`` mask top (../shared/docs/mnet-facts.md).

What ``max_unpool2d(v, indices_of(max_pool2d(x)))`` computes, for each 2×2 window of ``x``: ``v`` at the
window's winning position and 0 at the other three. PyTorch's winner is the first maximum in row-major
order (its CPU and CUDA kernels update the index only on a strictly greater value). This module recomputes
the winner from ``x`` and the pooled ``p``:

1. **Phases.** ``x`` (N, C, H, W) viewed as (N·C·H/2, 2, W/2, 2) holds window row ``a`` on axis 1 and window
   column ``b`` on axis 3, so two splits give the four phases ``x_ab`` (N·C·H/2, 1, W/2, 1); ``p`` and ``v``
   viewed as (N·C·H/2, 1, W/2, 1) line up with them.
2. **Differences.** ``d_ab = p − x_ab ≥ 0``. In IEEE arithmetic ``p − x = 0`` exactly when ``p == x``
   (gradual underflow), so ``d`` is zero exactly at the maxima.
3. **An exact 0/1 step.** ``s ← max(−1, −G·d)``, then ``s ← max(−1, G·s)`` for the remaining stages, with
   ``G = 2**GAIN_EXPONENT``. A multiplication by a power of two is exact, ``max`` is exact and
   ``|s| ≤ 1`` keeps ``G·s`` below FP16's 65504, so ``s`` stays 0 where ``d`` is 0 and reaches exactly −1
   where it is not once ``G**STAGES·d ≥ 1``: STAGES covers the smallest FP32 subnormal, 2**−149 (in FP16,
   whose smallest subnormal is 2**−24, the second stage already saturates; the first stage may overflow
   to −inf, which ``max`` turns into −1). One large gain instead would overflow FP16 or leave fractions.
4. **The tie rule.** With ``e_k = s_k + 1`` (1 at a maximum) in row-major order k = 00, 01, 10, 11, the
   winner mask is ``w_k = ReLU(e_k − Σ_{j<k} e_j)``: a 1×1 convolution with integer weights and bias
   ``1 − k`` on ``s``, then ReLU. Exact: its values are small integers.
5. **Scatter.** ``w_k · v`` per phase, concatenated back along the two window axes, viewed as (N, C, H, W).

Every op maps onto the Kit's Caffe layers (Reshape, Slice, Eltwise SUM/MAX/PROD, Scale, Convolution, ReLU,
Concat; see export/caffe/lowering.py) and onto ONNX opset 11 for atc. Tests: tests/unit/model/test_unpool.py
(ties, quantised values, 1-ulp gaps, subnormals, FP16).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GAIN_EXPONENT = 14  # 2**14 = 16384: |s| <= 1 keeps G·s inside FP16's range
SMALLEST_FP32_EXPONENT = 149  # the smallest positive FP32 (subnormal) is 2**-149
STAGES = math.ceil(SMALLEST_FP32_EXPONENT / GAIN_EXPONENT)
GAIN = float(2 ** GAIN_EXPONENT)

# Row-major phases 00, 01, 10, 11: winner_k = ReLU(e_k - sum_{j<k} e_j) with e = s + 1.
TIE_WEIGHT = [[1, 0, 0, 0], [-1, 1, 0, 0], [-1, -1, 1, 0], [-1, -1, -1, 1]]
TIE_BIAS = [1 - k for k in range(4)]  # e_k - sum_{j<k} e_j = s_k - sum s_j + (1 - k)


def exact_step(d: torch.Tensor, stages: int = STAGES, gain: float = GAIN) -> torch.Tensor:
    """0 where ``d`` is 0 and −1 where ``d`` > 0 (``d ≥ 0``), exactly, for every finite FP32 or FP16 ``d``."""
    s = torch.clamp(d * -gain, min=-1.0)
    for _ in range(stages - 1):
        s = torch.clamp(s * gain, min=-1.0)
    return s


def winner_mask(s: torch.Tensor) -> torch.Tensor:
    """From the step (N', 4, W', 1) of the four phases, 1 at the first maximum of each window, else 0."""
    weight = torch.tensor(TIE_WEIGHT, dtype=s.dtype).reshape(4, 4, 1, 1)
    bias = torch.tensor(TIE_BIAS, dtype=s.dtype)
    return F.relu(F.conv2d(s, weight, bias))


def max_unpool2x2_index_free(values: torch.Tensor, pre_pool: torch.Tensor, pooled: torch.Tensor,
                             stages: int = STAGES) -> torch.Tensor:
    """``max_unpool2d(values, indices, 2, 2)`` where ``indices`` are those of ``max_pool2d(pre_pool, 2, 2)``
    (= ``pooled``), computed without the indices. H and W of ``pre_pool`` must be even."""
    n, c, h, w = pre_pool.shape
    if h % 2 or w % 2:
        raise ValueError(f"index-free unpooling needs an even height and width, got {h}x{w}")
    rows, half_w = n * c * h // 2, w // 2
    # torch.split (not chunk) exports as one ONNX Split, which lowers to one Caffe Slice
    top, bottom = torch.split(pre_pool.reshape(rows, 2, half_w, 2), 1, dim=1)
    phases = (*torch.split(top, 1, dim=3), *torch.split(bottom, 1, dim=3))  # 00, 01, 10, 11
    p = pooled.reshape(rows, 1, half_w, 1)
    s = exact_step(torch.cat([p - x for x in phases], dim=1), stages)
    v = values.reshape(rows, 1, half_w, 1)
    y00, y01, y10, y11 = torch.split(torch.cat([v, v, v, v], dim=1) * winner_mask(s), 1, dim=1)
    return torch.cat([torch.cat([y00, y01], dim=3), torch.cat([y10, y11], dim=3)], dim=1).reshape(n, c, h, w)
