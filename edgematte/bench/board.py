"""``bench --device``'s loop prediction: the app's own pipeline on a board, stage by stage, as a model.

Inputs: each host stage's CPU time measured here (:mod:`edgematte.bench.host`, 720p camera frames) times the
family's ``slowdown`` (an estimate: :class:`edgematte.devices.BoardCpu`), the network's time on the chip from the
cost model (:mod:`edgematte.costmodel`), and the app record's pipeline (which thread runs which stages). The
frame period is the slowest thread's time, or the host work spread over the board's cores when they are the
limit; the latency is a frame's trip through every thread. A prediction until a board runs the app, whose
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
    modes = {}
    for key, row in host_cpu["apps"][app.name].items():
        if not key.startswith(camera + " "):
            continue
        stages = {name: ms * cpu.slowdown for name, ms in row["stages"].items()}
        stages["infer"] = npu_ms
        threads = {name: sum(stages.get(stage, 0.0) for stage in members) for name, members in app.pipeline}
        host = sum(ms for name, ms in stages.items() if name != "infer")
        slowest = max(threads, key=threads.get)
        period = max(threads[slowest], host / cpu.cores)
        latency = sum(threads.values())
        modes[key[len(camera) + 1:]] = {
            "fps": round(1000.0 / period, 1), "latency_ms": round(latency, 1),
            "latency_frames": round(latency / period, 2), "host_ms": round(host, 2), "npu_ms": round(npu_ms, 2),
            "bottleneck": slowest if threads[slowest] >= host / cpu.cores else f"the CPU ({cpu.cores} cores)",
            "threads": {name: round(ms, 2) for name, ms in threads.items()}}
    return {"app": app.name, "camera": camera, "cpu": {"cores": cpu.cores, "core": cpu.core, "slowdown": cpu.slowdown,
                                                       "source": cpu.source}, "note": NOTE, "modes": modes}


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
