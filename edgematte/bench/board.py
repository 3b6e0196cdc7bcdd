"""``bench --device``'s loop prediction: the app's own pipeline on a board, stage by stage, as a model.

Inputs: each host stage's CPU time measured here (:mod:`edgematte.bench.host`, 720p camera frames) times the
family's ``slowdown`` (an estimate: :class:`edgematte.devices.BoardCpu`), the network's time on the chip from the
cost model (:mod:`edgematte.costmodel`), DVPP's time for the pictures it scales (``vpc``: the camera frame) and
encodes (``jpege``: the preview's picture) from the family's media record (:class:`edgematte.devices.MediaUnit`),
and the app record's pipeline (which thread runs or waits for which stages). The frame period is the slowest
thread's time, the host work spread over the board's cores, or DVPP's work, whichever is the limit; the latency
is a frame's trip through every thread. A prediction until a board runs the app, whose
timing line (``ms/frame``) measures the same stages.
"""

from __future__ import annotations

NOTE = ("a prediction: host stages measured on this machine times the family's slowdown estimate, the network "
        "from the cost model; measure on the board with the app's own timing line")


def predict_loop(family, host_cpu: dict, npu_ms: float, camera: str = "1280x720") -> dict:
    """Per mode (with the preview, where the app has one): frames per second, latency, the host's and the NPU's
    time per frame, the bottleneck, and each thread's time."""
    from edgematte.apps import app_of

    app, cpu = app_of(family), family.board_cpu
    width, height = (int(v) for v in camera.split("x"))
    modes = {}
    for key, row in host_cpu["apps"][app.name].items():
        if not key.startswith(camera + " "):
            continue
        mode = key[len(camera) + 1:]
        stages = {name: ms * cpu.slowdown for name, ms in row["stages"].items()}
        device = {"infer": npu_ms, **_dvpp_ms(family, width, height, mode)}
        stages.update(device)
        threads = {name: sum(stages.get(stage, 0.0) for stage in members) for name, members in app.pipeline}
        host = sum(ms for name, ms in stages.items() if name not in device)
        dvpp = sum(ms for name, ms in device.items() if name != "infer")
        limits = {**threads, f"the CPU ({cpu.cores} cores)": host / cpu.cores, "DVPP": dvpp}
        slowest = max(limits, key=limits.get)
        period = limits[slowest]
        latency = sum(threads.values())
        modes[mode] = {
            "fps": round(1000.0 / period, 1), "latency_ms": round(latency, 1),
            "latency_frames": round(latency / period, 2), "host_ms": round(host, 2), "npu_ms": round(npu_ms, 2),
            "dvpp_ms": round(dvpp, 2), "bottleneck": slowest,
            "threads": {name: round(ms, 2) for name, ms in threads.items()}}
    return {"app": app.name, "camera": camera, "cpu": {"cores": cpu.cores, "core": cpu.core, "slowdown": cpu.slowdown,
                                                       "source": cpu.source}, "note": NOTE, "modes": modes}


FULL_HD = 1920 * 1080


def _dvpp_ms(family, width: int, height: int, mode: str) -> dict:
    """DVPP's time per frame for the app of ``family`` in ``mode``: VPC scales the camera frame, JPEGE encodes the
    preview's picture (twice the frame side by side); none without a media record."""
    if family.media is None:
        return {}
    per_pixel = family.media.ms_1080p / FULL_HD
    stages = {"vpc": per_pixel * width * height}
    if mode.endswith("preview"):
        stages["jpege"] = per_pixel * width * height * (2 if mode.startswith("side-by-side") else 1)
    return stages


def loop_lines(loop: dict) -> list[str]:
    cpu = loop["cpu"]
    lines = [f"the {loop['app']} loop at {loop['camera']}, predicted ({cpu['cores']} cores of {cpu['core']}, host "
             f"time x{cpu['slowdown']:g} of this machine's, an estimate):"]
    for mode, m in loop["modes"].items():
        lines.append(f"  {mode:<24} {m['fps']:6.1f} fps, latency {m['latency_ms']:.0f} ms ({m['latency_frames']:.1f} "
                     f"frames), host {m['host_ms']:.1f} ms, NPU {m['npu_ms']:.1f} ms, bottleneck {m['bottleneck']}")
    return lines


def family_route(family) -> str:
    """The cost model's route name for ``family``'s compiler (bench/device.py's ``route_graphs``)."""
    return f"{family.compiler.reads} ({family.compiler})"
