"""A numpy executor for the Caffe dialect edgematte emits (BVLC semantics, DeepLab ``Interp``).

It reads the prototxt and caffemodel with its own parsers (:mod:`edgematte.runtime.caffe_files`) and
shares no code with the writer, so it is an independent check of the files. Layers outside what it
implements raise :class:`CaffeRunError` naming the layer.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edgematte.runtime import RunnerError
from edgematte.runtime.caffe_files import CaffeFileError, parse_prototxt, read_caffemodel


class CaffeRunError(RunnerError):
    pass


def _one(msg: dict, key: str, default=None):
    values = msg.get(key)
    return values[0] if values else default


def _hw(p: dict, key: str, default: int) -> tuple[int, int]:
    if f"{key}_h" in p:
        return int(_one(p, f"{key}_h")), int(_one(p, f"{key}_w"))
    values = p.get("kernel_size" if key == "kernel" else key, [default])
    return (int(values[0]), int(values[-1]))


def _conv(x, weight, bias, p):
    kh, kw = _hw(p, "kernel", 1)
    sh, sw = _hw(p, "stride", 1)
    ph, pw = _hw(p, "pad", 0)
    dh, dw = _hw(p, "dilation", 1)
    group = int(_one(p, "group", 1))
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
    o = weight.shape[0]
    cg, og = c // group, o // group
    cols = cols.reshape(n, group, cg * kh * kw, oh * ow)
    wmat = weight.reshape(group, og, cg * kh * kw)
    # Accumulated in float64, then rounded once: every output position gets the correctly rounded value of
    # its dot product. A float32 GEMM rounds some columns (positions) differently from others, so equal
    # patches (a flat image region) would give outputs that differ in the last bit, and a max-unpooling
    # network (M-Net) turns such a difference inside a tied window into a different winner.
    out = np.matmul(wmat[None].astype(np.float64), cols.astype(np.float64)).reshape(n, o, oh, ow)
    if bias is not None:
        out += bias.reshape(1, o, 1, 1)
    return out.astype(np.float32)


def _deconv(x, weight, bias, p):
    """BVLC Deconvolution: every input pixel adds its kernel, times its value, to the output at stride
    spacing (weights (C_in, C_out / group, kh, kw)); ``pad`` then crops the border."""
    kh, kw = _hw(p, "kernel", 1)
    sh, sw = _hw(p, "stride", 1)
    ph, pw = _hw(p, "pad", 0)
    if _hw(p, "dilation", 1) != (1, 1):
        raise ValueError("Deconvolution with dilation is not implemented")
    group = int(_one(p, "group", 1))
    n, c, h, w = x.shape
    cg, og = c // group, weight.shape[1]
    full = np.zeros((n, og * group, (h - 1) * sh + kh, (w - 1) * sw + kw), np.float64)
    for g in range(group):
        xs = x[:, g * cg:(g + 1) * cg].astype(np.float64)
        ws = weight[g * cg:(g + 1) * cg].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                full[:, g * og:(g + 1) * og, i:i + sh * (h - 1) + 1:sh, j:j + sw * (w - 1) + 1:sw] += \
                    np.einsum("nchw,co->nohw", xs, ws[:, :, i, j])
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.astype(np.float32)


def _pool(x, p):
    method = _one(p, "pool", "MAX")
    n, c, h, w = x.shape
    if _one(p, "global_pooling", False):
        return x.mean(axis=(2, 3), keepdims=True) if method == "AVE" else x.max(axis=(2, 3), keepdims=True)
    kh, kw = _hw(p, "kernel", 1)
    sh, sw = _hw(p, "stride", 1)
    ph, pw = _hw(p, "pad", 0)

    def size(length, k, s, pad):
        out = int(math.ceil((length + 2 * pad - k) / s)) + 1
        return out - 1 if pad and (out - 1) * s >= length + pad else out

    oh, ow = size(h, kh, sh, ph), size(w, kw, sw, pw)
    # Windows may run past the padded input (ceil mode); cover them with the pad value.
    eh, ew = max(0, (oh - 1) * sh + kh - h - 2 * ph), max(0, (ow - 1) * sw + kw - w - 2 * pw)
    fill = 0.0 if method == "AVE" else -np.inf
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=fill)
    acc = None
    for i in range(kh):
        for j in range(kw):
            win = xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            acc = win.copy() if acc is None else (acc + win if method == "AVE" else np.maximum(acc, win))
    if method != "AVE":
        return acc

    def count(o, s, k, pad, length):  # Caffe's divisor: the window clipped to the padded input
        start = np.arange(o) * s - pad
        return np.minimum(start + k, length + pad) - start

    return acc / np.outer(count(oh, sh, kh, ph, h), count(ow, sw, kw, pw, w)).astype(np.float32)


def _interp(x, height, width):
    """DeepLab's Interp: bilinear with corners aligned, in float32 as its CPU kernel computes it."""
    n, c, h1, w1 = x.shape

    def axis(out, size):
        r = np.float32((size - 1) / (out - 1)) if out > 1 else np.float32(0)
        pos = r * np.arange(out, dtype=np.float32)
        lo = pos.astype(np.int64)
        step = (lo < size - 1).astype(np.int64)
        lam = (pos - lo).astype(np.float32)
        return lo, lo + step, lam

    h0, h1i, hl = axis(height, h1)
    w0, w1i, wl = axis(width, w1)
    hl, wl = hl[:, None], wl[None, :]
    top = x[:, :, h0][:, :, :, w0] * (1 - wl) + x[:, :, h0][:, :, :, w1i] * wl
    bottom = x[:, :, h1i][:, :, :, w0] * (1 - wl) + x[:, :, h1i][:, :, :, w1i] * wl
    return (top * (1 - hl) + bottom * hl).astype(np.float32)


def _scale(ins, blobs, p):
    x = ins[0]
    axis = int(_one(p, "axis", 1)) % x.ndim
    if len(ins) == 2:
        factor, bias = ins[1], None
    else:
        factor = blobs[0]
        bias = blobs[1] if _one(p, "bias_term", False) else None
    shape = (1,) * axis + factor.shape + (1,) * (x.ndim - axis - factor.ndim)
    if x.shape[axis:axis + factor.ndim] != factor.shape:
        raise ValueError(f"scale of shape {factor.shape} does not fit input {x.shape} at axis {axis}")
    out = x * factor.reshape(shape)
    return out + bias.reshape(shape) if bias is not None else out


def _run_layer(kind, ins, blobs, layer):
    x = ins[0] if ins else None
    if kind == "Convolution":
        p = _one(layer, "convolution_param", {})
        return [_conv(x, blobs[0], blobs[1] if _one(p, "bias_term", True) and len(blobs) > 1 else None, p)]
    if kind == "Deconvolution":
        p = _one(layer, "convolution_param", {})
        return [_deconv(x, blobs[0], blobs[1] if _one(p, "bias_term", True) and len(blobs) > 1 else None, p)]
    if kind == "ReLU":
        slope = float(_one(_one(layer, "relu_param", {}), "negative_slope", 0.0))
        return [np.where(x > 0, x, x * np.float32(slope))]
    if kind == "Sigmoid":
        return [(1.0 / (1.0 + np.exp(-x))).astype(np.float32)]
    if kind == "Eltwise":
        p = _one(layer, "eltwise_param", {})
        op = _one(p, "operation", "SUM")
        if op == "PROD":
            return [np.prod(np.stack(ins), axis=0)]
        if op == "MAX":
            return [np.max(np.stack(ins), axis=0)]
        coeff = [float(v) for v in p.get("coeff", [1.0] * len(ins))]
        return [sum(np.float32(k) * a for k, a in zip(coeff, ins))]
    if kind == "Scale":
        return [_scale(ins, blobs, _one(layer, "scale_param", {}))]
    if kind == "BatchNorm":
        p = _one(layer, "batch_norm_param", {})
        factor = blobs[2][0]
        factor = 0.0 if factor == 0 else 1.0 / factor
        mean, var = blobs[0] * factor, blobs[1] * factor
        eps = float(_one(p, "eps", 1e-5))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return [(x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + np.float32(eps))]
    if kind == "Pooling":
        return [_pool(x, _one(layer, "pooling_param", {}))]
    if kind == "Power":
        p = _one(layer, "power_param", {})
        power, scale, shift = (float(_one(p, k, d)) for k, d in (("power", 1.0), ("scale", 1.0), ("shift", 0.0)))
        with np.errstate(invalid="ignore"):  # 0 * inf in a constant map (power 0) of an overflowed FP16 blob
            return [np.power(np.float32(scale) * x + np.float32(shift), np.float32(power)).astype(np.float32)]
    if kind == "Interp":
        p = _one(layer, "interp_param", {})
        return [_interp(x, int(_one(p, "height")), int(_one(p, "width")))]
    if kind == "Concat":
        p = _one(layer, "concat_param", {})
        return [np.concatenate(ins, axis=int(_one(p, "axis", _one(p, "concat_dim", 1))))]
    if kind == "Slice":
        p = _one(layer, "slice_param", {})
        axis = int(_one(p, "axis", _one(p, "slice_dim", 1)))
        points = [int(v) for v in p.get("slice_point", [])]
        n_tops = len(layer.get("top", []))
        if not points:
            step = x.shape[axis] // n_tops
            points = [step * i for i in range(1, n_tops)]
        return np.split(x, points, axis=axis)
    if kind == "Flatten":
        return [x.reshape(x.shape[0], -1)]
    if kind == "Reshape":
        dims = [int(d) for d in _one(_one(layer, "reshape_param", {}), "shape", {}).get("dim", [])]
        return [x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(dims)])]
    raise CaffeRunError(f"layer type {kind} is not implemented by the numpy executor")


class CaffeRefRunner:
    """Runs a prototxt + caffemodel pair in numpy; ``infer(feed) -> {output blob: array}``."""

    name = "caffe-numpy"

    def __init__(self, prototxt: str | Path, caffemodel: str | Path, dtype=np.float32):
        """``dtype=np.float16`` simulates a half-precision device: inputs, weights and every layer's output
        are rounded to float16 (each layer itself computes in float32, like a cube unit's accumulators)."""
        self.dtype = np.dtype(dtype)
        try:
            self.net = parse_prototxt(Path(prototxt).read_text())
            weights = read_caffemodel(caffemodel)
        except (CaffeFileError, UnicodeDecodeError) as e:
            raise CaffeRunError(f"cannot read {prototxt} / {caffemodel}: {e}") from None
        self.layers = self.net.get("layer", [])
        self.blobs: dict[str, list[np.ndarray]] = {}
        for layer in self.layers:
            name, kind = _one(layer, "name"), _one(layer, "type")
            entry = weights.get(name)
            if entry is not None and entry["type"] and entry["type"] != kind:
                raise CaffeRunError(f"layer {name!r} is {kind} in the prototxt but {entry['type']} in the caffemodel")
            self.blobs[name] = [b.astype(self.dtype).astype(np.float32) for b in entry["blobs"]] if entry else []
        self.input_names = [str(v) for v in self.net.get("input", [])]
        consumed = {b for layer in self.layers for b in layer.get("bottom", [])}
        made = [t for layer in self.layers for t in layer.get("top", [])]
        self.output_names = [t for t in dict.fromkeys(made) if t not in consumed]

    def infer(self, feed: dict[str, np.ndarray], extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The net's output blobs for ``feed``; ``extra``: layers whose (first) top to return as well."""
        values = {name: self._round(feed[name]) for name in self.input_names}
        probes = {}
        for layer in self.layers:
            name, kind = _one(layer, "name"), _one(layer, "type")
            try:
                outs = _run_layer(kind, [values[b] for b in layer.get("bottom", [])], self.blobs[name], layer)
            except (KeyError, ValueError, IndexError) as e:
                raise CaffeRunError(f"layer {name!r} ({kind}): {e}") from None
            values.update(zip(layer.get("top", []), (self._round(o) for o in outs)))
            if name in extra:
                probes[name] = values[layer["top"][0]]
        return {**{name: values[name] for name in self.output_names}, **probes}

    def _round(self, value) -> np.ndarray:
        """``value`` as float32, through the runner's dtype (a no-op for float32)."""
        with np.errstate(over="ignore"):  # FP16 overflows to inf, as a half-precision unit's would
            return np.asarray(value, self.dtype).astype(np.float32)
