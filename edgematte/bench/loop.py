"""bench's loop: the bundle's own skill on the stand-in, each device call timed per frame."""

from __future__ import annotations

from pathlib import Path

from edgematte.bench.stats import LatencyStats

# The skill's stages (skills/hilens_skill/main.py logs the same names): the stand-in's VideoCapture.read,
# Preprocessor.resize, Model.infer split into the AIPP emulation and the network, the skill's own code
# between the calls (the composite, the scene-cut check), and Display.show (H.264 encoding here).
LOOP_STAGES = ("read", "resize", "aipp", "infer", "composite", "show")
# With a refiner: its Model.infer, split the same way; its trimap and crop search are the skill's own code
# (counted in "composite").
REFINER_STAGES = ("refiner_aipp", "refiner_infer")


def time_skill_loop(bundle, runner, clip: Path, frames: int, warmup: int, workdir: Path, log) -> dict:
    """The bundle's own skill on the stand-in (as ``edgematte run`` runs it), ``runner`` as its model;
    each device call timed per frame by the stand-in, the skill's own code (composite) as the rest."""
    import cv2

    from edgematte.errors import EdgematteError
    from edgematte.standin import run_skill, start

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    w, h = bundle.spec.camera_width, bundle.spec.camera_height  # the stand-in's camera, like the Kit's, is fixed
    shown = 0

    def progress():
        nonlocal shown
        shown += 1
        if shown % 20 == 0:
            log(f"loop: {shown}/{warmup + frames} frames")

    hilens = start(bundle, source=str(clip), output=workdir / "loop.mp4", runner=runner, max_frames=warmup + frames,
                   fps=fps or 25.0, skill_config={"mode": "composite", "background": "blur"}, on_frame=progress,
                   log=lambda _: None, workspace=workdir / "workspace", time_calls=True)
    stopped = run_skill(hilens)
    if stopped:
        raise EdgematteError(f"bench's loop: {stopped}")
    records = [r for r in hilens.session().frame_ms if "frame" in r][warmup:]
    if len(records) < 3:
        raise EdgematteError(f"bench's loop: {clip} gave {len(records)} timed frames after {warmup} warm-up frames; "
                             f"give a longer --input or fewer --warmup frames")
    refined = bundle.refiner is not None
    stages = LOOP_STAGES + (REFINER_STAGES if refined else ())
    samples = {stage: [] for stage in stages}
    for r in records:
        calls = {"read": r["read"], "resize": r["resize"], "aipp": r["aipp"], "infer": r["infer"] - r["aipp"],
                 "show": r["show"]}
        if refined:  # frames where the refiner's last matte was reused have no refiner call
            aipp = r.get("refiner_aipp", 0.0)
            calls.update(refiner_aipp=aipp, refiner_infer=r.get("refiner_infer", 0.0) - aipp)
        calls["composite"] = r["frame"] - sum(calls.values())
        for stage in stages:
            samples[stage].append(calls[stage])
    stats = {stage: LatencyStats.of(v) for stage, v in samples.items()}
    total = LatencyStats.of([r["frame"] for r in records])
    non_infer = sum(stats[s].p50 for s in stages if s != "infer")
    on_chip = stats["aipp"].p50  # AIPP runs on the chip on the device; here it is emulated on the CPU
    extra = {}
    if refined:
        runs = [r for r in records if "refiner_infer" in r]
        extra["refiner"] = {"runs": len(runs), "runs_per_frame": round(len(runs) / len(records), 4),
                            "mean_ms_per_frame": round(float(sum(r["refiner_infer"] for r in runs)) / len(records), 3),
                            "when_run": LatencyStats.of([r["refiner_infer"] for r in runs]).to_dict() if runs else None}
    return {"input": {"source": str(clip.name), "width": w, "height": h}, "frames": len(records), **extra,
            "stages": {k: v.to_dict() for k, v in stats.items()}, "total": total.to_dict(),
            "non_infer_fraction": round(non_infer / total.p50, 4),
            "non_infer_fraction_without_aipp": round((non_infer - on_chip) / (total.p50 - on_chip), 4)}
