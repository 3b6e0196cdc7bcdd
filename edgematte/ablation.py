"""The temporal ablation: does the previous-alpha input make the matte stable, and do the training recipes fix
its failure modes? One command (``edgematte ablation``) generates the data, trains every variant for every
seed (resumable), evaluates them on held-out clips and writes ``results.json`` and the plots.

Variants, trained on the same data for the same steps and frames per step: the training recipes of
:mod:`edgematte.train.recipes` that the config names (FULL: ``a-plain``, plain MODNet; ``d-full``, the
ground-truth recipe with dropout, affine and lighting; ``e-own``, ``d-full`` on 2-frame clips fed the model's own
output), and two baselines on ``a-plain``'s output: MODNet's one-frame delay (OFD) and an exponential moving
average. ``b-naive`` and ``c-dropout`` were measured in the 1500-step study (docs/temporal.md).

Measured on the held-out clips (:mod:`edgematte.data.scenes`): MAD×1e3, MSE×1e3, Grad/1e3 and dtSSD×1e2 over
every frame, and three stress measurements:

- **recovery**: at frame :data:`INJECT_AT` of each steady clip the model is fed a wrong previous alpha (the
  true one shifted by a fifth of the width); the frames until its MAD is back within :data:`RECOVERED` of the
  uninjected run's, and the per-frame dtSSD around it;
- **enter / leave**: MAD over the :data:`AFTER_EVENT` frames from the subject's first frame in view / its first
  frame gone;
- **light**: MAD from the frame a backlight comes on.

And the deployed loop: the previous-alpha recipes (:data:`RESET_VARIANTS`) once more under the apps' two reset
rules (:class:`edgematte.loop.PreviousAlpha`: drop the previous alpha when the mean luma change exceeds
``reset_threshold``, or when fewer than ``min_coverage`` of the matte's pixels are above 0.5), over
:data:`RESET_GRID`, the defaults among them; how often each person-left test would fire on empty frames and with a
person in view (:func:`left_rule_rates`); each method against :data:`GOALS`, and the method shipped
(:func:`shipped`), which ``train`` uses by default (``edgematte.train.recipes.SHIPPED``, held equal by a test).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from edgematte import metrics
from edgematte.data.images import read_alpha, read_rgb
from edgematte.errors import OutputExistsError
from edgematte.evaluate import EMA_WEIGHT, moving_average, one_frame_delay
from edgematte.loop import PreviousAlpha, confident_share
from edgematte.hilens_skill import SkillDefaults
from edgematte.train.recipes import RECIPES, Recipe

STUDY_FILE = "study.json"  # the study's settings, written first: what makes a folder a study folder
INJECT_AT = 6        # the frame of a steady clip that gets a wrong previous alpha
INJECT_SHIFT = 0.2   # the wrong previous alpha: the true one moved by this fraction of the width
RECOVERED = 0.1      # recovered: MAD within 10 % (and 1e-3 absolute) of the uninjected run's
AFTER_EVENT = 5      # frames scored after an enter or leave event
AROUND_EVENT = (-3, 8)  # the frames around an enter or leave event that the event plot shows
METHODS_ON_PLAIN = ("a-plain + OFD", f"a-plain + EMA {EMA_WEIGHT:g}")
RESET_VARIANTS = ("d-full", "e-own")  # the recipes evaluated under the apps' reset rules
LEFT_RULES = {"mean": (0.002,), "confident": (0.001, 0.002, 0.005, 0.01, 0.02)}  # person-left tests and thresholds
# The goals a previous-alpha method must meet against plain MODNet to be shipped (issue "Make the previous alpha
# earn its place"): dtSSD in every seed, mean MAD, mean MAD after enter and after leave (ratios), frames to recover.
GOALS = {"dtSSD every seed": 0.9, "MAD": 1.05, "MAD after enter": 1.1, "MAD after leave": 1.1, "frames to recover": 1.0}
_RULES = SkillDefaults()
# (reset_threshold, min_coverage) pairs; None: that rule off. The skill's defaults are the second row.
RESET_GRID = ((None, None), (_RULES.reset_threshold, _RULES.min_coverage), (None, _RULES.min_coverage),
              (_RULES.reset_threshold, None), (15.0, _RULES.min_coverage), (_RULES.reset_threshold, 0.002),
              (_RULES.reset_threshold, 0.01), (_RULES.reset_threshold, 0.05))


Variant = Recipe  # a study variant is a training recipe (edgematte.train.recipes)
VARIANTS = RECIPES
PLAIN = "a-plain"


@dataclass(frozen=True)
class StudyConfig:
    """What one study run is: data sizes, training length, seeds. :data:`FULL` and :data:`QUICK` are the two
    documented ones (docs/temporal.md says why FULL is what it is)."""

    train_clips: int
    test_clips: int
    frames: int
    width: int            # the data's frames
    height: int
    size: str             # the network's input, WxH
    iterations: int
    batch_size: int
    lr: float
    seeds: tuple[int, ...]
    variants: tuple[str, ...]  # names in VARIANTS, trained in this order
    reset_grid: tuple = RESET_GRID  # the (reset_threshold, min_coverage) rows the reset variants are run under

    def chosen(self) -> list[Variant]:
        return [v for v in VARIANTS if v.name in self.variants]


FULL = StudyConfig(train_clips=24, test_clips=8, frames=24, width=256, height=160, size="128x96", iterations=1200,
                   batch_size=8, lr=5e-4, seeds=(0, 1, 2), variants=("a-plain", "d-full", "e-own"))
QUICK = StudyConfig(train_clips=4, test_clips=4, frames=16, width=96, height=64, size="64x64", iterations=2,
                    batch_size=4, lr=1e-3, seeds=(0, 1), variants=FULL.variants, reset_grid=RESET_GRID[:3])


def _data(out: Path, cfg: StudyConfig, log) -> tuple[Path, Path]:
    from edgematte.data.scenes import write_scene_dataset

    train, test = out / "data" / "train", out / "data" / "test"
    for root, clips, seed in ((train, cfg.train_clips, 100), (test, cfg.test_clips, 200)):
        if not (root / "scenes").is_dir():  # written under a scratch name, renamed when complete: an
            log(f"writing {clips} synthetic clips to {root}")  # interrupted study writes it again
            scratch = root.with_name(f".{root.name}.partial")
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
            write_scene_dataset(scratch, clips, cfg.frames, cfg.width, cfg.height, seed)
            os.replace(scratch, root)
    return train, test


def _train(out: Path, data: Path, variant: Variant, seed: int, cfg: StudyConfig, log) -> Path:
    """Train (or finish training) one variant for one seed; returns its checkpoint."""
    from edgematte.spec import resolve_spec
    from edgematte.train.trainer import CHECKPOINT_FILE, STATE_FILE, TrainConfig, train

    run = out / "runs" / f"{variant.name}-seed{seed}"
    state = run / STATE_FILE
    done = 0
    if state.exists():
        import torch

        done = int(torch.load(state, map_location="cpu", weights_only=True)["step"])
    if done >= cfg.iterations:
        return run / CHECKPOINT_FILE
    log(f"training {variant.name}, seed {seed} ({'from step ' + str(done) if done else 'from the start'})")
    batch = max(1, cfg.batch_size // variant.clips.frames)  # clips per step: the same frames per step for all
    train_cfg = TrainConfig(data=str(data), out=str(run), iterations=cfg.iterations, batch_size=batch,
                            lr=cfg.lr, seed=seed, save_every=max(1, cfg.iterations // 10), freeze_bn=False,
                            augment=variant.augment, feedback=variant.clips)
    train(train_cfg, resolve_spec(size=cfg.size), resume=done > 0, force=done == 0 and run.exists())
    return run / CHECKPOINT_FILE


def _clips(test: Path) -> list[dict]:
    clips = []
    for clip in sorted(p for p in (test / "scenes").iterdir() if p.is_dir()):
        frames = sorted((clip / "com").glob("*.png"))
        clips.append({"name": clip.name, "events": json.loads((clip / "events.json").read_text()),
                      "frames": [read_rgb(p) for p in frames],
                      "alphas": [read_alpha(clip / "pha" / p.name, np.float64) for p in frames]})
    return clips


def _rollout(infer, clip: dict, size: tuple[int, int], feedback: bool, inject: dict | None = None,
             resets: tuple[float | None, float | None] = (None, None), coverage: list | None = None) -> list:
    """The model over a clip, feeding back its own alpha (or zeros) through the apps' own loop core
    (:class:`edgematte.loop.PreviousAlpha`); ``inject``: {frame: previous alpha}; ``resets``: the apps'
    (reset_threshold, min_coverage) rules, None for a rule that is off (the luma the skill compares is the camera's
    Y plane; here BT.601 luma of the RGB frame, as the AscendCL app's grey frame). ``coverage``: gets, per frame,
    what the "person left" rule could test (:func:`_coverage_row`)."""
    w, h = size
    threshold, min_coverage = resets
    previous = PreviousAlpha(w, h, threshold, min_coverage, feedback)
    out = []
    for t, frame in enumerate(clip["frames"]):
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        prev = previous.feed(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if threshold is not None else None)
        if feedback and inject and t in inject:
            prev = inject[t]
        alpha = infer(small, prev)
        previous.keep(alpha)
        if coverage is not None:
            coverage.append(_coverage_row(alpha, clip["alphas"][t]))
        gh, gw = clip["alphas"][t].shape
        full = cv2.resize(alpha.astype(np.float32), (gw, gh), interpolation=cv2.INTER_LINEAR).astype(np.float64)
        out.append(np.clip(np.round(full * 255), 0, 255) / 255)
    return out


def _coverage_row(alpha: np.ndarray, truth: np.ndarray) -> dict:
    """One frame's evidence for a "person left" rule: the matte's mean (the old rule's test), its share of pixels
    above 0.5 (:func:`edgematte.loop.confident_share`, the new one's), and whether the frame is truly empty."""
    return {"mean": float(np.mean(alpha)), "confident": confident_share(alpha), "empty": bool(truth.max() == 0)}


def _scores(preds: list, gts: list) -> list[dict]:
    dt = metrics.dtssd_frames(preds, gts)
    return [{"MAD": metrics.mad(p, g) * 1e3, "MSE": metrics.mse(p, g) * 1e3, "Grad": metrics.grad(p, g) / 1e3,
             "dtSSD": d} for p, g, d in zip(preds, gts, dt)]


def _evaluate(infer, feedback: bool, clips: list[dict], size: tuple[int, int],
              resets: tuple[float | None, float | None] = (None, None)) -> dict:
    """Every measurement of one trained model (and, for the plain model, its OFD and EMA baselines), with the
    skill's reset ``resets`` rules applied to its loop (none by default)."""
    w, h = size
    def empty():
        return {"frames": [], "recovery": [], "enter": [], "leave": [], "light": [], "curves": {"enter": [], "leave": []},
                "coverage": []}

    results = {"own": empty()}
    if not feedback:
        results.update({name: empty() for name in METHODS_ON_PLAIN})
    for clip in clips:
        ev, gts = clip["events"], clip["alphas"]
        preds = _rollout(infer, clip, size, feedback, resets=resets, coverage=results["own"]["coverage"])
        runs = {"own": preds}
        if not feedback:
            runs[METHODS_ON_PLAIN[0]] = one_frame_delay(preds)
            runs[METHODS_ON_PLAIN[1]] = moving_average(preds)
        for name, p in runs.items():
            rows = _scores(p, gts)
            r = results[name]
            r["frames"] += rows
            if ev["enter"] is not None:
                r["enter"] += [row["MAD"] for row in rows[ev["enter"]:ev["enter"] + AFTER_EVENT]]
            if ev["leave"] is not None:
                r["leave"] += [row["MAD"] for row in rows[ev["leave"]:ev["leave"] + AFTER_EVENT]]
            if ev["light"] is not None:
                r["light"] += [row["MAD"] for row in rows[ev["light"]:]]
            for kind in ("enter", "leave"):
                at = ev[kind]
                if at is not None:  # frames outside the clip are NaN
                    r["curves"][kind].append([rows[t]["MAD"] if 0 <= t < len(rows) else np.nan
                                              for t in range(at + AROUND_EVENT[0], at + AROUND_EVENT[1])])
        if ev["scenario"] == "steady" and len(clip["frames"]) > INJECT_AT + 1:
            truth = cv2.resize(gts[INJECT_AT - 1].astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
            wrong = np.roll(truth, int(INJECT_SHIFT * w), axis=1)
            injected = _rollout(infer, clip, size, feedback, {INJECT_AT: wrong}, resets)  # plain MODNet ignores it
            clean = _scores(preds, gts)
            hit = _scores(injected, gts)
            after = range(INJECT_AT, len(gts))
            back = next((t - INJECT_AT for t in after if hit[t]["MAD"] <= max(clean[t]["MAD"] * (1 + RECOVERED),
                                                                            clean[t]["MAD"] + 1.0)), None)
            results["own"]["recovery"].append({
                "clip": clip["name"], "frames_to_recover": back, "after": len(gts) - INJECT_AT,
                "dtssd": [row["dtSSD"] for row in hit], "dtssd_clean": [row["dtSSD"] for row in clean],
                "mad": [row["MAD"] for row in hit], "mad_clean": [row["MAD"] for row in clean]})
    return results


def _summary(r: dict) -> dict:
    frames = r["frames"]
    out = {k: float(np.mean([f[k] for f in frames])) for k in ("MAD", "MSE", "Grad", "dtSSD")}
    for key in ("enter", "leave", "light"):
        out[f"MAD after {key}"] = float(np.mean(r[key])) if r[key] else None
    recovered = [x["frames_to_recover"] for x in r["recovery"]]
    out["frames to recover"] = (float(np.mean([x if x is not None else np.nan for x in recovered]))
                                if recovered and None not in recovered else None)
    out["never recovered"] = sum(x is None for x in recovered)
    return out


def run_study(out: str | Path, quick: bool = False, config: StudyConfig | None = None, iterations: int | None = None,
              log: Callable[[str], None] = lambda _: None) -> dict:
    """The whole study into ``out`` (resumable: finished runs are kept, an interrupted one resumes); returns
    the results and writes ``results.json`` and the plots there. ``iterations``: steps per run instead of the
    config's."""
    import torch

    from edgematte.model.modnet_checkpoint import load_checkpoint
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.spec import parse_size, resolve_spec

    cfg = config or (QUICK if quick else FULL)
    out = Path(out)
    record = out / STUDY_FILE
    if out.exists() and any(out.iterdir()) and not record.exists():
        raise OutputExistsError(f"{out} holds files but no study ({STUDY_FILE}); the study writes its data, runs and "
                                f"results there: choose another --out")
    if record.exists():  # a resumed study keeps the steps it was started with, unless raised
        recorded = json.loads(record.read_text())
        if not isinstance(recorded, dict) or not isinstance(recorded.get("iterations"), int):
            raise OutputExistsError(f"{record} is not an edgematte study record; choose another --out")
        cfg = dataclasses.replace(cfg, iterations=recorded["iterations"])
    if iterations is not None:
        cfg = dataclasses.replace(cfg, iterations=iterations)
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({**asdict(cfg), "quick": quick}, indent=1) + "\n")
    t0 = time.perf_counter()
    train_data, test_data = _data(out, cfg, log)
    clips = _clips(test_data)
    size = parse_size(cfg.size)
    spec = resolve_spec(size=cfg.size)
    per_seed: dict[str, list[dict]] = {}
    raw: dict[str, dict] = {}
    reset_rows: dict[tuple, list[dict]] = {}
    for seed in cfg.seeds:  # seed-major: a study stopped half-way has every variant for its first seeds
        for variant in cfg.chosen():
            ckpt = _train(out, train_data, variant, seed, cfg, log)
            runner = TorchRunner(load_checkpoint(ckpt).model, spec)

            def infer(rgb, prev):
                feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
                return np.clip(runner.infer(feed)[spec.alpha_output][0, 0], 0, 1)

            log(f"evaluating {variant.name}, seed {seed}")
            with torch.no_grad():
                results = _evaluate(infer, variant.feedback, clips, size)
                for name, r in results.items():
                    method = variant.name if name == "own" else name
                    per_seed.setdefault(method, []).append({"seed": seed, **_summary(r)})
                    raw.setdefault(method, {})[seed] = r
                if variant.name in RESET_VARIANTS:
                    for rule in cfg.reset_grid:
                        r = results["own"] if rule == (None, None) else _evaluate(infer, True, clips, size, rule)["own"]
                        reset_rows.setdefault((variant.name, *rule), []).append({"seed": seed, **_summary(r)})
    table = {method: method_table(rows) for method, rows in per_seed.items()}
    report = {"study": "temporal ablation (docs/temporal.md)", "config": {**asdict(cfg), "quick": quick},
              "data": "synthetic scenes (edgematte.data.scenes): a drawn figure over photos, not people",
              "seconds": round(time.perf_counter() - t0, 1),
              "device": "cuda" if torch.cuda.is_available() else "cpu", "methods": table,
              "recovery_curves": {m: {s: r["recovery"] for s, r in seeds.items()} for m, seeds in raw.items()
                                  if any(r["recovery"] for r in seeds.values())},
              "event_curves": {m: {kind: _mean_curve([c for r in seeds.values() for c in r["curves"][kind]])
                                   for kind in ("enter", "leave")} for m, seeds in raw.items()},
              "reset_rules": {"variants": sorted({v for v, _, _ in reset_rows}),
                              "app_defaults": [_RULES.reset_threshold, _RULES.min_coverage],
                              "rows": [{"variant": v, "reset_threshold": t, "min_coverage": c, **method_table(rows)}
                                       for (v, t, c), rows in reset_rows.items()]},
              "left_rule": {m: left_rule_rates([row for r in seeds.values() for row in r["coverage"]])
                            for m, seeds in raw.items() if any(r["coverage"] for r in seeds.values())},
              "around_event": list(AROUND_EVENT),
              "event_frames": AFTER_EVENT, "inject_at": INJECT_AT}
    report["goals"] = {m: goals_met(table, m) for m in table if m != PLAIN and m in cfg.variants and PLAIN in table}
    report["shipped"] = shipped(report["goals"], table)
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    plot_recovery(report, out / "recovery.png")
    plot_events(report, out / "events.png")
    return report


def left_rule_rates(rows: list[dict]) -> dict:
    """How often each person-left test (:data:`LEFT_RULES`) fires, over a method's own-loop frames (reset rules off):
    on truly empty frames (it should) and on frames with a person in view (it should not)."""
    empty = [r for r in rows if r["empty"]]
    person = [r for r in rows if not r["empty"]]
    out = {}
    for stat, thresholds in LEFT_RULES.items():
        for t in thresholds:
            fires = lambda frames: float(np.mean([f[stat] < t for f in frames])) if frames else None
            out[f"{stat} < {t:g}"] = {"fires on empty frames": fires(empty), "fires with a person": fires(person)}
    out["frames"] = {"empty": len(empty), "person": len(person)}
    return out


def goals_met(table: dict, method: str) -> dict:
    """Each of :data:`GOALS` for ``method`` against plain MODNet: the measured ratio (or frames) and whether it is met."""
    plain, row = table[PLAIN], table[method]
    out = {}
    worst = max(m / p for m, p in zip(row["dtSSD"]["per_seed"], plain["dtSSD"]["per_seed"]))
    out["dtSSD every seed"] = {"value": worst, "goal": GOALS["dtSSD every seed"], "met": worst <= GOALS["dtSSD every seed"]}
    for key in ("MAD", "MAD after enter", "MAD after leave"):
        ratio = row[key]["mean"] / plain[key]["mean"] if row[key]["mean"] and plain[key]["mean"] else None
        out[key] = {"value": ratio, "goal": GOALS[key], "met": ratio is not None and ratio <= GOALS[key]}
    frames = row["frames to recover"]["mean"]  # None: a clip never recovered in some seed
    out["frames to recover"] = {"value": frames, "goal": GOALS["frames to recover"],
                                "met": frames is not None and frames <= GOALS["frames to recover"]}
    return out


def shipped(goals: dict, table: dict) -> str:
    """The method the product ships: the previous-alpha method that meets every goal, the steadiest (lowest mean
    dtSSD) if several do; else plain MODNet (the previous alpha fed as zeros): the safe choice."""
    passing = [m for m, g in goals.items() if all(x["met"] for x in g.values())]
    return min(passing, key=lambda m: table[m]["dtSSD"]["mean"]) if passing else PLAIN


def _mean_curve(curves: list) -> list | None:
    """The mean over clips at each frame around the event (None where no clip has the frame)."""
    if not curves:
        return None
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(curves), axis=0)
        sums = np.nansum(curves, axis=0)
    return [float(s / c) if c else None for s, c in zip(sums, counts)]


def method_table(rows: list[dict]) -> dict:
    """One method's row of results.json from its per-seed summaries: each measurement's mean and per-seed values.
    A seed with a clip that never recovered has no frames-to-recover, and then neither has the mean: averaging
    the other seeds would hide the worst case (the count is in ``never recovered``)."""
    keys = [k for k in rows[0] if k != "seed"]
    table = {}
    for k in keys:
        values = [r[k] for r in rows]
        if k == "frames to recover" and any(r["never recovered"] for r in rows):
            mean = None
        else:
            mean = _mean(values)
        table[k] = {"mean": mean, "per_seed": values}
    return table


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def plot_recovery(report: dict, path: Path) -> Path:
    """Per-frame dtSSD after the injected wrong previous alpha, each method's mean over clips and seeds."""
    colours = {m: _colour(report, m) for m in report["methods"]}
    width, height, margin = 720, 300, 50
    img = np.full((height + 2 * margin, width, 3), 255, np.uint8)
    curves = {}
    for method, seeds in report["recovery_curves"].items():
        runs = [np.asarray(x["dtssd"][report["inject_at"]:]) for rs in seeds.values() for x in rs]
        if runs:
            n = min(len(r) for r in runs)
            curves[method] = np.mean([r[:n] for r in runs], axis=0)
    if not curves:
        cv2.imwrite(str(path), img)
        return path
    top = max(float(c.max()) for c in curves.values()) or 1.0
    cv2.putText(img, f"dtSSD per frame after a wrong previous alpha at frame {report['inject_at']} (max {top:.3g})",
                (margin, margin - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, (margin, margin), (width - margin, margin + height), (200, 200, 200), 1)
    for method, c in curves.items():
        n = max(len(c) - 1, 1)
        pts = np.array([[margin + (width - 2 * margin) * j / n, margin + height - height * v / top]
                        for j, v in enumerate(c)], np.int32)
        cv2.polylines(img, [pts], False, colours[method], 2, cv2.LINE_AA)
    _legend(img, list(curves), colours, height + margin + 30, margin)
    cv2.imwrite(str(path), img)
    return Path(path)


COLOURS = [(180, 120, 40), (40, 40, 200), (40, 160, 40), (160, 40, 160), (0, 140, 220), (90, 90, 90)]


def plot_events(report: dict, path: Path) -> Path:
    """Per-frame MAD around the subject entering and leaving (frame 0: the event), each method's mean."""
    width, panel, margin = 720, 220, 50
    img = np.full((2 * panel + 3 * margin + 20, width, 3), 255, np.uint8)
    first = report["around_event"][0]
    methods = list(report["event_curves"])
    for row, kind in enumerate(("enter", "leave")):
        top = margin + row * (panel + margin)
        curves = {m: report["event_curves"][m][kind] for m in methods if report["event_curves"][m][kind]}
        hi = max((max(v for v in c if v is not None) for c in curves.values()), default=1.0) or 1.0
        cv2.putText(img, f"MAD x1e3 per frame around the subject's {kind} (frame 0; max {hi:.3g})", (margin, top - 12),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.rectangle(img, (margin, top), (width - margin, top + panel), (200, 200, 200), 1)
        for i, m in enumerate(methods):
            c = curves.get(m)
            if not c:
                continue
            n = max(len(c) - 1, 1)
            pts = np.array([[margin + (width - 2 * margin) * j / n, top + panel - panel * v / hi]
                            for j, v in enumerate(c) if v is not None], np.int32)
            cv2.polylines(img, [pts], False, _colour(report, m), 2, cv2.LINE_AA)
        zero = margin + (width - 2 * margin) * (-first) / max(len(next(iter(curves.values()), [0, 0])) - 1, 1)
        cv2.line(img, (int(zero), top), (int(zero), top + panel), (160, 160, 160), 1)
    _legend(img, methods, {m: _colour(report, m) for m in methods}, img.shape[0] - 15, margin)
    cv2.imwrite(str(path), img)
    return Path(path)


def _colour(report: dict, method: str) -> tuple[int, int, int]:
    """One colour per method, the same in every plot."""
    return COLOURS[list(report["methods"]).index(method) % len(COLOURS)]


def _legend(img: np.ndarray, methods: list[str], colours: dict, y: int, x: int) -> None:
    for m in methods:
        cv2.putText(img, m, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colours[m], 1, cv2.LINE_AA)
        x += cv2.getTextSize(m, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] + 18


SUMMARY_KEYS = ("MAD", "MSE", "Grad", "dtSSD", "MAD after enter", "MAD after leave", "MAD after light",
                "frames to recover")


def _cells(row: dict) -> str:
    never = sum(row["never recovered"]["per_seed"])
    cells = [f"never in {never} clip{'s' if never > 1 else ''}" if k == "frames to recover" and never
             else "-" if row[k]["mean"] is None else f"{row[k]['mean']:.3f}" for k in SUMMARY_KEYS]
    return "".join(f"{c:>18}" for c in cells)


def _goal_cell(key: str, goal: dict) -> str:
    value = "never" if goal["value"] is None else f"{goal['value']:.2f}"
    return f"{key} {value} ({'met' if goal['met'] else 'not met'}, goal {goal['goal']:g})"


def summary_lines(report: dict, out: Path) -> list[str]:
    """What ``edgematte ablation`` prints: each method's means, the shipped recipe under the skill's reset
    rules, then what was written."""
    header = "".join(f"{k:>18}" for k in SUMMARY_KEYS)
    lines = [f"{'method':<22}{header}"]
    lines += [f"{method:<22}{_cells(row)}" for method, row in report["methods"].items()]
    resets = report.get("reset_rules")
    if resets and resets["rows"]:
        default = resets["app_defaults"]
        lines += ["", "Under the apps' reset rules (luma change > threshold, or fewer than min coverage of the matte's "
                  "pixels above 0.5, drops the previous alpha; - = rule off; * = the apps' defaults):",
                  f"{'variant  threshold  coverage':<30}{header}"]
        for row in resets["rows"]:
            rule = [row["reset_threshold"], row["min_coverage"]]
            name = "  ".join(f"{'-' if v is None else f'{v:g}':>9}" for v in rule) + (" *" if rule == default else "")
            lines.append(f"{row['variant']:<8}{name:<22}{_cells(row)}")
    for method, goals in report.get("goals", {}).items():
        lines.append(f"{method} against {PLAIN}: " + ", ".join(_goal_cell(k, g) for k, g in goals.items()))
    if "shipped" in report:
        lines.append(f"Shipped: {report['shipped']}")
    lines.append(f"Wrote {out / 'results.json'}, recovery.png and events.png ({report['seconds']} s)")
    return lines

