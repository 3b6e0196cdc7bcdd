"""``edgematte eval``: the video protocol (whole frame; MAD×1e3, MSE×1e3, Grad/1e3, Conn/1e3, dtSSD×1e2) over
clips laid out as ``<set>/<clip>/pha/<frame>.png``, either for predictions on disk or for a model run
here, beside the cheap temporal alternatives.

A model is run over each clip in order from frame 0, feeding back its *own* previous alpha (never the
ground truth); the state is reset per clip and frame 0 gets a previous alpha of zeros.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from edgematte import metrics
from edgematte.data.images import IMAGE_EXTS
from edgematte.data.images import read_alpha as _read_alpha
from edgematte.data.images import read_rgb
from edgematte.errors import EdgematteError
from edgematte.loop import MIN_COVERAGE, RESET_THRESHOLD, PreviousAlpha
METRICS = ("MAD", "MSE", "Grad", "Conn", "dtSSD")
TRIMAP_METRICS = ("SAD", "MSE", "Grad", "Conn")
PROTOCOL = "video (whole frame): MAD x1e3, MSE x1e3, Grad/1e3, Conn/1e3, dtSSD x1e2 (frame 0 counts as 0)"
TRIMAP_PROTOCOL = "trimap (unknown band, trimap == 128): SAD/1e3, MSE, Grad/1e3, Conn/1e3"
FRAME0 = "previous alpha of frame 0 = zeros; state reset per clip; each method feeds back its own output"
OFD_THRESHOLD = 0.1  # one-frame-delay rule (MODNet arXiv; threshold not published: unverified)
EMA_WEIGHT = 0.5


class EvalError(EdgematteError):
    pass


def read_alpha(path: Path) -> np.ndarray:
    return _read_alpha(path, np.float64)


def frame_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise EvalError(f"{folder} does not exist")
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    for p in files:
        if p.suffix.lower() not in IMAGE_EXTS:
            raise EvalError(f"{p} is not an image file (expected {', '.join(IMAGE_EXTS)})")
    if not files:
        raise EvalError(f"{folder} is empty")
    return files


def find_clips(root: Path) -> list[Path]:
    """Every ``<clip>`` folder under ``root`` that has a ``pha/`` folder."""
    root = Path(root)
    if not root.is_dir():
        raise EvalError(f"{root} does not exist")
    clips = sorted(p.parent for p in root.rglob("pha") if p.is_dir())
    if not clips:
        raise EvalError(f"no <clip>/pha/ folders under {root}; lay ground truth out as <set>/<clip>/pha/<frame>.png")
    return clips


def quantize(alpha: np.ndarray) -> np.ndarray:
    """As if written to an 8-bit PNG and read back, like the reference pipelines."""
    return np.clip(np.round(alpha * 255), 0, 255) / 255.0


@dataclass
class ClipScores:
    name: str
    frames: list[str]
    per_frame: list[dict]

    @property
    def mean(self) -> dict:
        return {k: float(np.mean([f[k] for f in self.per_frame])) for k in METRICS}


def score_clip(name: str, frames: list[str], preds: list[np.ndarray], gts: list[np.ndarray]) -> ClipScores:
    dtssd = metrics.dtssd_frames(preds, gts)
    per_frame = [{**metrics.video_protocol(p, g), "dtSSD": d} for p, g, d in zip(preds, gts, dtssd)]
    return ClipScores(name, frames, per_frame)


@dataclass
class MethodResult:
    name: str
    latency_frames: int
    clips: list[ClipScores] = field(default_factory=list)

    @property
    def overall(self) -> dict:
        frames = [f for c in self.clips for f in c.per_frame]
        return {k: float(np.mean([f[k] for f in frames])) for k in METRICS}

    def to_dict(self) -> dict:
        return {"latency_frames": self.latency_frames, "overall": self.overall,
                "clips": {c.name: {"frames": len(c.per_frame), "mean": c.mean, "per_frame": c.per_frame}
                          for c in self.clips}}


@dataclass
class EvalReport:
    methods: list[MethodResult]
    source: str
    trimap: dict | None = None  # the trimap protocol, kept apart: {"clips": {clip: mean}, "overall": mean}

    def to_dict(self) -> dict:
        out = {"protocol": PROTOCOL, "frame0": FRAME0, "source": self.source,
               "methods": {m.name: m.to_dict() for m in self.methods}}
        if self.trimap is not None:
            out["trimap_protocol"] = {"protocol": TRIMAP_PROTOCOL, **self.trimap}
        return out

    def lines(self) -> list[str]:
        """The tables ``edgematte eval`` prints: per clip and overall, per method; then the trimap protocol."""
        out = [self.source, f"protocol: {PROTOCOL}",
               f"{'method':<28}{'latency':>8}{'clip':>24}" + "".join(f"{k:>9}" for k in METRICS)]
        for m in self.methods:
            rows = [(c.name, c.mean) for c in m.clips] + [("OVERALL", m.overall)]
            out += [f"{m.name:<28}{m.latency_frames:>8}{name[-24:]:>24}" + "".join(f"{row[k]:>9.3f}" for k in METRICS)
                    for name, row in rows]
        if self.trimap is not None:
            out += [f"protocol: {TRIMAP_PROTOCOL}", f"{'clip':>36}" + "".join(f"{k:>10}" for k in TRIMAP_METRICS)]
            out += [f"{name[-36:]:>36}" + "".join(f"{row[k]:>10.4f}" for k in TRIMAP_METRICS)
                    for name, row in [*self.trimap["clips"].items(), ("OVERALL", self.trimap["overall"])]]
        return out

    def save(self, path: Path, kind: str) -> None:
        """Write the report as ``kind``: "json" (everything), "csv" (per-frame rows) or "plot" (PNG)."""
        if kind == "json":
            Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        elif kind == "csv":
            self.write_csv(path)
        else:
            plot_report(self, path)

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["method", "clip", "frame", *METRICS])
            for m in self.methods:
                for c in m.clips:
                    for name, row in zip(c.frames, c.per_frame):
                        w.writerow([m.name, c.name, name, *(f"{row[k]:.6g}" for k in METRICS)])


# -- predictions on disk ---------------------------------------------------------------------------------
# The trimap protocol's one encoding (DIM / Composition-1k): 8-bit grey, background 0, unknown 128, foreground 255
TRIMAP_LEVELS = (0, 128, 255)


def trimap_file(root: Path, rel: Path, name: str) -> Path:
    """Where ``--trimap`` keeps a frame's trimap: ``<root>/<clip>/trimap/<name>``, or ``<root>/<clip>/<name>``."""
    folder = root / rel / "trimap"
    return (folder if folder.is_dir() else root / rel) / name


def read_trimap(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A trimap in the protocol's encoding (:data:`TRIMAP_LEVELS`), checked: readable, the ground truth's size,
    those three values only (127, or the device's 0 / 1 / 2 codes, would score a different band), and an unknown
    band (an empty band scores a perfect 0 whatever the prediction)."""
    if not path.exists():
        raise EvalError(f"{path} is missing: --trimap needs one trimap per ground-truth frame, same names")
    trimap = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if trimap is None:
        raise EvalError(f"{path} is not an image OpenCV can read")
    if trimap.shape != shape:
        raise EvalError(f"{path} is {trimap.shape[1]}x{trimap.shape[0]} but the ground truth is {shape[1]}x{shape[0]}")
    others = sorted(set(np.unique(trimap).tolist()) - set(TRIMAP_LEVELS))
    if others:
        raise EvalError(f"{path} holds values other than 0, 128 and 255 ({', '.join(map(str, others[:5]))}): give "
                        f"trimaps as background 0, unknown 128, foreground 255")
    if not (trimap == TRIMAP_LEVELS[1]).any():
        raise EvalError(f"{path} has no unknown pixels (128): the protocol scores only the unknown band, so an empty "
                        f"band would read as a perfect 0; give the trimap its band")
    return trimap


def _trimap_scores(trimap_root: Path, rel: Path, names: list[str], preds, gts) -> list[dict]:
    return [metrics.trimap_protocol(p, g, read_trimap(trimap_file(trimap_root, rel, name), g.shape))
            for name, p, g in zip(names, preds, gts)]


def evaluate_folders(pred_root: Path, gt_root: Path, log: Callable[[str], None] = lambda _: None,
                     trimap_root: Path | None = None) -> EvalReport:
    """Score predictions against ground truth; with ``trimap_root`` (``<set>/<clip>/trimap/<frame>.png``
    or ``<set>/<clip>/<frame>.png``) also the trimap protocol, reported apart."""
    pred_root, gt_root = Path(pred_root), Path(gt_root)
    if not pred_root.is_dir():
        raise EvalError(f"{pred_root} does not exist")
    result = MethodResult("predictions", 0)
    trimap_clips: dict[str, dict] = {}
    trimap_rows: list[dict] = []
    for clip in find_clips(gt_root):
        rel = clip.relative_to(gt_root)
        gt_files = frame_files(clip / "pha")
        pred_dir = pred_root / rel / "pha"
        pred_files = {p.name: p for p in frame_files(pred_dir)}
        missing = [p.name for p in gt_files if p.name not in pred_files]
        if missing:
            raise EvalError(f"{pred_dir / missing[0]} is missing ({len(missing)} ground-truth frame(s) of {rel} "
                            f"have no prediction); predictions must mirror the ground truth's names")
        extra = sorted(set(pred_files) - {p.name for p in gt_files})
        if extra:
            raise EvalError(f"{pred_dir / extra[0]} has no ground truth in {clip / 'pha'}")
        preds, gts = [], []
        for g in gt_files:
            gt, pred = read_alpha(g), read_alpha(pred_files[g.name])
            if pred.shape != gt.shape:
                raise EvalError(f"{pred_files[g.name]} is {pred.shape[1]}x{pred.shape[0]} but its ground truth "
                                f"{g} is {gt.shape[1]}x{gt.shape[0]}")
            preds.append(pred)
            gts.append(gt)
        log(f"scored {rel} ({len(gts)} frames)")
        names = [p.name for p in gt_files]
        result.clips.append(score_clip(str(rel), names, preds, gts))
        if trimap_root is not None:
            rows = _trimap_scores(Path(trimap_root), rel, names, preds, gts)
            trimap_clips[str(rel)] = {k: float(np.mean([r[k] for r in rows])) for k in TRIMAP_METRICS}
            trimap_rows += rows
    trimap = None
    if trimap_root is not None:
        trimap = {"clips": trimap_clips,
                  "overall": {k: float(np.mean([r[k] for r in trimap_rows])) for k in TRIMAP_METRICS}}
    return EvalReport([result], f"predictions {pred_root} vs {gt_root}", trimap)


# -- a model run here, with the temporal baselines ----------------------------------------------------------
def one_frame_delay(alphas: list[np.ndarray], threshold: float = OFD_THRESHOLD) -> list[np.ndarray]:
    """MODNet's OFD: where the neighbours agree and the frame differs from both, take their mean."""
    out = [alphas[0]]
    for t in range(1, len(alphas) - 1):
        prev, cur, nxt = alphas[t - 1], alphas[t], alphas[t + 1]
        flicker = (np.abs(prev - nxt) <= threshold) & (np.abs(cur - prev) > threshold) & (np.abs(cur - nxt) > threshold)
        out.append(np.where(flicker, (prev + nxt) / 2, cur))
    return out + alphas[len(out):]


def moving_average(alphas: list[np.ndarray], weight: float = EMA_WEIGHT) -> list[np.ndarray]:
    out = [alphas[0]]
    for a in alphas[1:]:
        out.append(weight * a + (1 - weight) * out[-1])
    return out


def evaluate_model(data_root: Path, infer: Callable[[np.ndarray, np.ndarray], np.ndarray], size: tuple[int, int],
                   log: Callable[[str], None] = lambda _: None, reset_rules: bool = False) -> dict[str, MethodResult]:
    """``infer(rgb uint8 at model size, previous alpha at model size) -> alpha at model size``. ``reset_rules``:
    the fed-back alpha goes through the apps' reset rules (:class:`edgematte.loop.PreviousAlpha`'s defaults: a
    cut or an empty matte drops it), as a deployed app runs; without, the protocol feeds it back unconditionally."""
    rules = (RESET_THRESHOLD, MIN_COVERAGE) if reset_rules else (None, None)
    width, height = size
    methods = {name: MethodResult(name, lat) for name, lat in (
        ("prev-alpha input", 0), ("no feedback (plain MODNet)", 0), ("no feedback + OFD", 1),
        (f"no feedback + EMA {EMA_WEIGHT:g}", 0))}
    for clip in find_clips(data_root):
        rel = str(clip.relative_to(data_root))
        gt_files = frame_files(clip / "pha")
        com_dir = clip / "com"
        com = {p.stem: p for p in frame_files(com_dir)} if com_dir.is_dir() else None
        if com is None:
            raise EvalError(f"{com_dir} does not exist: a model run needs the input frames (com/) beside pha/")
        gts, fed_back, plain = [], [], []
        previous, plain_modnet = PreviousAlpha(width, height, *rules), PreviousAlpha(width, height, feedback=False)
        for g in gt_files:
            if g.stem not in com:
                raise EvalError(f"{com_dir} has no frame {g.stem} for ground truth {g}")
            frame = read_rgb(com[g.stem])
            gt = read_alpha(g)
            if frame.shape[:2] != gt.shape:
                raise EvalError(f"{com[g.stem]} and {g} differ in size")
            rgb = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            fed_back.append(previous.keep(infer(rgb, previous.feed(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))))
            plain.append(infer(rgb, plain_modnet.feed()))
            gts.append(gt)

        def full(alphas):
            return [quantize(cv2.resize(a.astype(np.float32), gts[0].shape[::-1], interpolation=cv2.INTER_LINEAR)
                             .astype(np.float64)) for a in alphas]

        names = [p.name for p in gt_files]
        for method, alphas in zip(methods.values(), (fed_back, plain, one_frame_delay(plain), moving_average(plain))):
            method.clips.append(score_clip(rel, names, full(alphas), gts))
        log(f"ran {rel} ({len(gts)} frames)")
    return methods


def evaluate_any(pred, gt, bundle, checkpoint, data, preset, size, trimap, log, reset_rules: bool = False):
    """``edgematte eval``: predictions on disk against the ground truth, or a model (a bundle through the
    stand-in of its compiled model, or a checkpoint in PyTorch) run over ``data`` beside the baselines."""
    from edgematte.spec import resolve_spec

    if pred is not None or gt is not None:
        if pred is None or gt is None or bundle or checkpoint or data:
            raise EvalError("give --pred and --gt together, or a model (--bundle or --checkpoint) with --data")
        return evaluate_folders(Path(pred), Path(gt), log, Path(trimap) if trimap else None)
    if trimap is not None:
        raise EvalError("--trimap applies to --pred/--gt (the trimap protocol scores predictions on disk)")
    if data is None:
        raise EvalError("give --pred DIR --gt DIR, or --bundle DIR / --checkpoint FILE with --data DIR")
    if bundle is not None:
        infer, spec = bundle_infer(bundle)
        source = f"bundle {bundle} (stand-in: AIPP emulator + onnxruntime)"
    else:
        spec = resolve_spec(preset, size)
        infer = torch_infer(spec.network.load(checkpoint, spec.seed, None, None).model, spec)
        source = f"checkpoint {checkpoint or 'embedded default (untrained)'} (PyTorch)"
    methods = evaluate_model(Path(data), infer, (spec.width, spec.height), log, reset_rules)
    rules = f", the apps' reset rules on the fed-back alpha (cut > {RESET_THRESHOLD:g} luma, under " \
            f"{MIN_COVERAGE:g} of the matte above 0.5)" if reset_rules else ""
    return EvalReport(list(methods.values()), f"{source} on {data}, model size {spec.width}x{spec.height}{rules}")




def bundle_infer(bundle) -> tuple[Callable, object]:
    """``infer(rgb, previous alpha) -> alpha`` through ``bundle``'s compiled model as its device app feeds it (the
    frames in its AIPP's input format: NV21 for the HiLens skill, packed BGR for the AscendCL app), on the
    stand-in network; and the bundle's spec."""
    from edgematte.aipp import frame_bytes
    from edgematte.bundle import Bundle
    from edgematte.standin.network import StandinNetwork, StandinNetworkError

    opened = Bundle.open(bundle)
    spec = opened.spec
    try:
        network = StandinNetwork(opened)
    except StandinNetworkError as e:
        raise EvalError(f"{bundle}: {e}; re-export the bundle (edgematte verify names what changed)") from None
    if 0 not in network.aipp:
        raise EvalError(f"{bundle}: its AIPP config has no block for the image input; re-export the bundle")
    image_format = network.aipp[0].cfg.input_format

    def infer(rgb, prev):
        raws = [frame_bytes(rgb, image_format, spec.camera_format),
                np.ascontiguousarray(prev, np.float32).reshape(-1).view(np.uint8)]
        sizes = [raw.nbytes for raw in raws]
        if sizes != network.input_bytes:
            raise EvalError(f"{bundle}: its model takes inputs of {network.input_bytes} bytes, the spec's frames are "
                            f"{sizes}; re-export the bundle")
        return network.infer(raws)[0].reshape(spec.height, spec.width)
    return infer, spec


def torch_infer(model, spec) -> Callable:
    """``infer(rgb, previous alpha) -> alpha`` through ``model`` in PyTorch."""
    from edgematte.runtime.pytorch import TorchRunner

    runner = TorchRunner(model, spec)

    def infer(rgb, prev):
        feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
        return runner.infer(feed)[spec.alpha_output][0, 0]
    return infer


def plot_report(report: EvalReport, path: Path) -> Path:
    """Per-frame MAD and dtSSD of every method along the concatenated clips."""
    colours = [(180, 120, 40), (40, 40, 200), (40, 160, 40), (160, 40, 160), (0, 140, 220)]
    width, panel, margin = 900, 220, 50
    img = np.full((2 * panel + 3 * margin, width, 3), 255, np.uint8)
    for row, key in enumerate(("MAD", "dtSSD")):
        series = [[f[key] for c in m.clips for f in c.per_frame] for m in report.methods]
        top = margin + row * (panel + margin)
        hi = max(max(s) for s in series) or 1.0
        cv2.putText(img, f"{key} per frame (max {hi:.3g})", (margin, top - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        cv2.rectangle(img, (margin, top), (width - margin, top + panel), (200, 200, 200), 1)
        for i, s in enumerate(series):
            n = max(len(s) - 1, 1)
            pts = np.array([[margin + (width - 2 * margin) * j / n, top + panel - panel * v / hi]
                            for j, v in enumerate(s)], np.int32)
            cv2.polylines(img, [pts], False, colours[i % len(colours)], 2, cv2.LINE_AA)
    for i, m in enumerate(report.methods):
        cv2.putText(img, m.name, (margin + 220 * i, img.shape[0] - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    colours[i % len(colours)], 1, cv2.LINE_AA)
    if not cv2.imwrite(str(path), img):
        raise EvalError(f"cannot write {path}")
    return Path(path)
