"""Matting metrics in numpy, written from their definitions (shared/docs/matting-metrics.md), not copied.

Alphas are float arrays in [0, 1] (read 8-bit PNGs as value / 255). ``mask`` selects the evaluated
region: the trimap's unknown band (trimap protocol) or ``None`` for the whole frame (video protocol).
Raw values are returned; the two protocols' table scales are applied by :func:`trimap_protocol` and
:func:`video_protocol`, which must never be mixed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

GRAD_SIGMA = 1.4
CONN_STEP = 0.1
CONN_THETA = 0.15


def _region(p, g, mask):
    p, g = np.asarray(p, np.float64), np.asarray(g, np.float64)
    if p.shape != g.shape:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in size")
    m = np.ones(p.shape, bool) if mask is None else np.asarray(mask, bool)
    return p, g, m


def sad(p, g, mask=None) -> float:
    p, g, m = _region(p, g, mask)
    return float(np.abs(p - g)[m].sum())


def mse(p, g, mask=None) -> float:
    p, g, m = _region(p, g, mask)
    return float(((p - g) ** 2)[m].mean()) if m.any() else 0.0


def mad(p, g, mask=None) -> float:
    p, g, m = _region(p, g, mask)
    return float(np.abs(p - g)[m].mean()) if m.any() else 0.0


def dog_kernel(sigma: float = GRAD_SIGMA, epsilon: float = 1e-2) -> np.ndarray:
    """The 9×9 (σ = 1.4) first-derivative-of-Gaussian kernel along x, L2-normalised."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-u ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    kernel = np.outer(gauss, -u * gauss / sigma ** 2)
    return kernel / np.sqrt((kernel ** 2).sum())


def _gradient_magnitude(a: np.ndarray) -> np.ndarray:
    kx = dog_kernel()
    gx = cv2.filter2D(a, cv2.CV_64F, kx, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(a, cv2.CV_64F, kx.T, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx ** 2 + gy ** 2)


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else a - lo


def grad(p, g, mask=None, normalize: bool = True) -> float:
    """Σ over the region of (|∇g| − |∇p|)², the magnitudes taken over the whole image."""
    p, g, m = _region(p, g, mask)
    if normalize:
        p, g = _minmax(p), _minmax(g)
    return float(((_gradient_magnitude(g) - _gradient_magnitude(p)) ** 2)[m].sum())


def _largest_component(binary: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=4)
    if count <= 1:
        return np.zeros(binary.shape, bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))  # label 0 is the background


def conn(p, g, mask=None, step: float = CONN_STEP, theta: float = CONN_THETA) -> float:
    p, g, m = _region(p, g, mask)
    # k / n, not np.arange(0, 1, step): arange gives 6 * 0.1 = 0.6000000000000001, which would leave an
    # 8-bit alpha of 153/255 (exactly 0.6, the same double as 6 / 10) out of the region at threshold 0.6.
    n = round(1 / step)
    thresholds = np.array([k / n for k in range(n + 1)])
    level = np.full(p.shape, -1.0)
    for k in range(1, len(thresholds)):
        omega = _largest_component((p >= thresholds[k]) & (g >= thresholds[k]))
        level[(level == -1) & ~omega] = thresholds[k - 1]
    level[level == -1] = 1.0

    def phi(a):
        d = a - level
        return 1 - d * (d >= theta)

    return float(np.abs(phi(p) - phi(g))[m].sum())


def dtssd_frames(preds, gts) -> list[float]:
    """RVM-style dtSSD per frame (×1e2 applied): frame 0 is 0, then
    100·sqrt(mean over all pixels of ((p_t − p_{t−1}) − (g_t − g_{t−1}))²)."""
    out = [0.0]
    for t in range(1, len(preds)):
        d = (np.asarray(preds[t], np.float64) - preds[t - 1]) - (np.asarray(gts[t], np.float64) - gts[t - 1])
        out.append(float(100 * np.sqrt((d ** 2).mean())))
    return out


def _sample(a: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """a sampled bilinearly at x + flow (zeros outside, as grid_sample with zero padding)."""
    h, w = a.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = xx + flow[..., 0], yy + flow[..., 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    out = np.zeros((h, w))
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h) & np.isfinite(wgt)
            out[ok] += wgt[ok] * a[yi[ok], xi[ok]]
    return out


def tcvom_frames(preds, gts, masks=None, flows=None) -> list[dict]:
    """TCVOM-style per-frame dtSSD and MESSDdt (forward pairs, unnormalised sums over the mask; the last
    frame is 0). ``flows[t]`` is the ground truth's motion t -> t+1 (H×W×2, x then y; NaN = invalid)."""
    n = len(preds)
    out = []
    for t in range(n):
        if t == n - 1:
            out.append({"dtSSD": 0.0, "MESSDdt": 0.0})
            continue
        p0, p1 = np.asarray(preds[t], np.float64), np.asarray(preds[t + 1], np.float64)
        g0, g1 = np.asarray(gts[t], np.float64), np.asarray(gts[t + 1], np.float64)
        m = np.ones(p0.shape, bool) if masks is None else np.asarray(masks[t], bool)
        entry = {"dtSSD": float(np.sqrt((((p0 - p1) - (g0 - g1)) ** 2)[m].sum()))}
        if flows is not None:
            flow = np.asarray(flows[t], np.float64)
            valid = m & np.isfinite(flow).all(axis=2)
            e1 = (_sample(p1, np.nan_to_num(flow)) - _sample(g1, np.nan_to_num(flow))) ** 2
            entry["MESSDdt"] = float(np.abs((p0 - g0) ** 2 - e1)[valid].sum())
        out.append(entry)
    return out


def trimap_protocol(p, g, trimap) -> dict:
    """DIM / Composition-1k: the unknown band (trimap == 128); SAD/1e3, MSE, Grad/1e3, Conn/1e3."""
    unknown = np.asarray(trimap) == 128
    return {"SAD": sad(p, g, unknown) / 1e3, "MSE": mse(p, g, unknown), "Grad": grad(p, g, unknown) / 1e3,
            "Conn": conn(p, g, unknown) / 1e3}


def video_protocol(p, g) -> dict:
    """RVM / VideoMatte, whole frame: MAD×1e3, MSE×1e3, Grad/1e3, Conn/1e3 (dtSSD per clip, see dtssd_frames)."""
    return {"MAD": mad(p, g) * 1e3, "MSE": mse(p, g) * 1e3, "Grad": grad(p, g) / 1e3, "Conn": conn(p, g) / 1e3}
