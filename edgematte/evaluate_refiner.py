"""``edgematte eval --refiner``: MODNet alone against MODNet + M-Net, under the trimap protocol (SAD/1e3, MSE,
Grad/1e3, Conn/1e3 on the unknown band; shared/docs/matting-metrics.md).

Over clips laid out as ``<set>/<clip>/{com,pha}/<frame>.png``, MODNet runs as deployed (each frame's alpha fed
back), its alpha scaled to the frame; then M-Net refines it:

- **device crop**: what the skill and the app do (:func:`edgematte.refine.refine_plan`): the refiner-size
  crop with the most unknown pixels of the trimap made from MODNet's alpha, refined every frame;
- **whole frame**: M-Net on the whole frame with that trimap (what the crop leaves out);
- **given trimap**: M-Net on the whole frame with the trimap of ``--trimap`` (``<set>/<clip>/trimap/<frame>.png``
  or ``<set>/<clip>/<frame>.png``, 0 / 128 / 255), the classic trimap-based protocol.

Each method is scored on the unknown band of the device's trimap and, with ``--trimap``, of the given one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from edgematte import metrics
from edgematte.evaluate import EvalError, find_clips, frame_files, read_alpha, read_trimap, trimap_file
from edgematte.data.images import read_rgb
from edgematte.data.synthetic import is_synthetic
from edgematte.loop import PreviousAlpha
from edgematte.refine import frame_band, refine_plan, trimap_from_alpha

TRIMAP_METRICS = ("SAD", "MSE", "Grad", "Conn")
PROTOCOL = "trimap (unknown band): SAD/1e3, MSE, Grad/1e3, Conn/1e3; frames of every clip, mean"
MULTIPLE = 16  # M-Net pools four times: a whole frame is padded to a multiple of 16


def as_protocol_trimap(trimap: np.ndarray) -> np.ndarray:
    """0 / 0.5 / 1 -> the protocol's 0 / 128 / 255."""
    return np.where(trimap == 0.5, 128, np.where(trimap >= 1, 255, 0)).astype(np.uint8)


def from_protocol_trimap(trimap: np.ndarray) -> np.ndarray:
    """0 / 128 / 255 (checked by :func:`edgematte.evaluate.read_trimap`) -> 0 / 0.5 / 1."""
    return np.where(trimap == 255, 1.0, np.where(trimap == 0, 0.0, 0.5)).astype(np.float32)


@dataclass
class RefinerReport:
    source: str
    synthetic: bool
    rows: dict = field(default_factory=dict)  # band -> method -> metric -> mean
    frames: int = 0
    refined: int = 0          # frames whose device crop held enough unknown pixels to refine
    band_in_crop: float = 0.0  # the mean share of the device trimap's unknown band inside the crop

    def to_dict(self) -> dict:
        return {"protocol": PROTOCOL, "source": self.source, "synthetic": self.synthetic, "frames": self.frames,
                "refined_frames": self.refined, "band_in_crop": self.band_in_crop, "bands": self.rows}

    def lines(self) -> list[str]:
        label = " (SYNTHETIC data: says nothing about real footage)" if self.synthetic else ""
        out = [self.source + label, f"protocol: {PROTOCOL}",
               f"{self.frames} frames; the device crop refined {self.refined} of them and held "
               f"{100 * self.band_in_crop:.0f}% of the unknown band on average"]
        for band, methods in self.rows.items():
            out.append(f"{'band: ' + band:<40}" + "".join(f"{k:>10}" for k in TRIMAP_METRICS))
            out += [f"{name:<40}" + "".join(f"{row[k]:>10.4f}" for k in TRIMAP_METRICS) for name, row in methods.items()]
        return out

    def save(self, path: Path, kind: str) -> None:
        if kind != "json":
            raise EvalError(f"the refiner comparison writes --json only, not --{kind}")
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def _given_trimap(root: Path, rel: Path, name: str, shape) -> np.ndarray:
    """A given trimap, read and checked as ``eval --trimap`` reads it (one encoding for both commands)."""
    return from_protocol_trimap(read_trimap(trimap_file(root, rel, name), shape))


def whole_frame(mnet: Callable, rgb: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """M-Net on a whole frame, padded (edge-replicated) to a multiple of 16 and cropped back."""
    h, w = trimap.shape
    ph, pw = -h % MULTIPLE, -w % MULTIPLE
    alpha = mnet(np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge"), np.pad(trimap, ((0, ph), (0, pw)), mode="edge"))
    return alpha[:h, :w]


def evaluate_refiner(data_root: Path, modnet: Callable, modnet_size: tuple[int, int], mnet: Callable,
                     refiner_size: tuple[int, int], source: str, trimap_root: Path | None = None,
                     whole_frames: bool = True, log: Callable[[str], None] = lambda _: None) -> RefinerReport:
    """``modnet(rgb at modnet_size, previous alpha) -> alpha``; ``mnet(rgb H×W×3 uint8, trimap H×W of 0/0.5/1)
    -> alpha H×W`` (any H, W that are multiples of 16; only ``refiner_size`` without ``whole_frames``)."""
    data_root = Path(data_root)
    width, height = modnet_size
    bands = ["device trimap"] + (["given trimap"] if trimap_root is not None else [])
    names = ["MODNet", "MODNet + M-Net (device crop)"]
    if whole_frames:
        names += ["MODNet + M-Net (whole frame)"] + (["M-Net, given trimap"] if trimap_root is not None else [])
    scores = {band: {name: [] for name in names} for band in bands}
    report = RefinerReport(source, synthetic=is_synthetic(data_root))
    shares = []
    for clip in find_clips(data_root):
        rel = clip.relative_to(data_root)
        com = {p.stem: p for p in frame_files(clip / "com")} if (clip / "com").is_dir() else None
        if com is None:
            raise EvalError(f"{clip / 'com'} does not exist: a model run needs the input frames (com/) beside pha/")
        previous = PreviousAlpha(width, height, None, None)  # the protocol: no reset rules, reset per clip
        for g in frame_files(clip / "pha"):
            if g.stem not in com:
                raise EvalError(f"{clip / 'com'} has no frame {g.stem} for ground truth {g}")
            frame, gt = read_rgb(com[g.stem]), read_alpha(g)
            fh, fw = gt.shape
            small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            alpha = cv2.resize(previous.keep(modnet(small, previous.feed())), (fw, fh), interpolation=cv2.INTER_LINEAR)
            band = frame_band(fw, width)
            device = trimap_from_alpha(alpha, band)
            crop = alpha.copy()
            bw, bh = min(refiner_size[0], fw), min(refiner_size[1], fh)
            plan = refine_plan(alpha, bw, bh, band)
            if plan is not None:
                (x, y, _, _), codes = plan
                patch = cv2.resize(frame[y:y + bh, x:x + bw], refiner_size, interpolation=cv2.INTER_AREA)
                codes = cv2.resize(codes, refiner_size, interpolation=cv2.INTER_NEAREST)
                refined = mnet(patch, codes.astype(np.float32) * 0.5)
                crop[y:y + bh, x:x + bw] = cv2.resize(refined, (bw, bh), interpolation=cv2.INTER_LINEAR)
                report.refined += 1
                shares.append(float((device[y:y + bh, x:x + bw] == 0.5).sum() / max(1, (device == 0.5).sum())))
            preds = {"MODNet": alpha, "MODNet + M-Net (device crop)": crop}
            trimaps = {"device trimap": device}
            if whole_frames:
                preds["MODNet + M-Net (whole frame)"] = whole_frame(mnet, frame, device)
            if trimap_root is not None:
                given = _given_trimap(Path(trimap_root), rel, g.name, gt.shape)
                if whole_frames:
                    preds["M-Net, given trimap"] = whole_frame(mnet, frame, given)
                trimaps["given trimap"] = given
            for band_name, trimap in trimaps.items():
                protocol = as_protocol_trimap(trimap)
                for name, pred in preds.items():
                    quantised = np.clip(np.round(pred.astype(np.float64) * 255), 0, 255) / 255
                    scores[band_name][name].append(metrics.trimap_protocol(quantised, gt, protocol))
            report.frames += 1
        log(f"ran {rel}")
    report.rows = {band: {name: {k: float(np.mean([r[k] for r in rows])) for k in TRIMAP_METRICS}
                          for name, rows in methods.items()} for band, methods in scores.items()}
    report.band_in_crop = float(np.mean(shares)) if shares else 0.0
    return report


def evaluate_with_refiner(bundle, checkpoint, data, preset, size, trimap, refiner, refiner_checkpoint, refiner_size,
                          refiner_width, log):
    """``edgematte eval --refiner``: the bundle's two networks (onnxruntime), or the checkpoints in PyTorch."""
    from edgematte.bundle import Bundle
    from edgematte.networks import refiner_network
    from edgematte.spec import resolve_spec

    refiner_net = refiner_network(refiner)
    if data is None:
        raise EvalError("the refiner comparison runs MODNet and M-Net over --data DIR (<set>/<clip>/{com,pha}/)")
    if bundle is not None:
        if checkpoint or refiner_checkpoint or refiner_width or refiner_size:
            raise EvalError("--bundle brings both networks; leave out --checkpoint and the --refiner-* options")
        opened = Bundle.open(bundle)
        if opened.refiner is None:
            raise EvalError(f"{bundle} has no refiner; export it with --to om --refiner {refiner_net}")
        spec, rspec = opened.spec, opened.refiner.spec
        runner, refiner_runner = (_bundle_runner(bundle, network) for network in (opened, opened.refiner))
        source = f"bundle {bundle} (onnxruntime: MODNet {spec.width}x{spec.height}, M-Net {rspec.width}x{rspec.height})"
    else:
        from edgematte.runtime.pytorch import TorchRunner

        spec = resolve_spec(preset, size)
        rspec = resolve_spec(preset, refiner_size, refiner_net.name)
        runner = TorchRunner(spec.network.load(checkpoint, spec.seed, None, None).model, spec)
        mnet = refiner_net.load(refiner_checkpoint, rspec.seed, None, refiner_width)
        refiner_runner = TorchRunner(mnet.model, rspec)
        source = (f"MODNet {checkpoint or 'embedded default (untrained)'}, M-Net "
                  f"{refiner_checkpoint or f'embedded default x{mnet.model.width:g} (untrained)'} (PyTorch)")

    def modnet(rgb, prev):
        feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
        return runner.infer(feed)[spec.alpha_output][0, 0]

    def mnet_infer(rgb, trimap):
        image = ((rgb.astype(np.float32) - rspec.norm_mean) / rspec.norm_std).transpose(2, 0, 1)[None]
        feed = {rspec.image_input: np.ascontiguousarray(image, np.float32),
                rspec.trimap_input: trimap[None, None].astype(np.float32)}
        return refiner_runner.infer(feed)[rspec.alpha_output][0, 0]

    # a bundle's ONNX has a static size: M-Net runs on its crops only (the whole-frame rows need checkpoints)
    return evaluate_refiner(Path(data), modnet, (spec.width, spec.height), mnet_infer, (rspec.width, rspec.height),
                            source, Path(trimap) if trimap else None, whole_frames=bundle is None, log=log)


def _bundle_runner(bundle, network):
    """``network``'s ONNX (a bundle or its refiner) in onnxruntime, after the checks ``verify`` makes of it (present,
    loadable, its graph's inputs and outputs the manifest's): a missing, damaged or swapped file is one line."""
    import onnx

    from edgematte.runtime.ort import OrtRunner
    from edgematte.verification.device_files import graph_io_problems

    network.require("onnx", why="re-export the bundle")
    path = network.path("onnx")
    try:
        problems = graph_io_problems(onnx.load(str(path)), network.spec)
        if not problems:
            return OrtRunner(path)
    except Exception as e:  # onnx and onnxruntime raise their own types for a damaged file
        from edgematte.errors import shorten

        problems = [f"cannot be loaded ({shorten(str(e))})"]
    raise EvalError(f"{bundle}: {path.name}: {problems[0]}")
