"""``bench --device``'s loop prediction: the app's own pipeline on a board, stage by stage, as a model.

Inputs: each host stage's CPU time measured here (:mod:`edgematte.bench.host`, 720p camera frames) times the
family's ``slowdown`` (an estimate: :class:`edgematte.devices.BoardCpu`), the network's time on the chip from the
cost model (:mod:`edgematte.costmodel`), DVPP's time for the pictures it decodes (``jpegd``: a USB camera's MJPEG
frame), scales (``vpc``: the frame) and encodes (``jpege``: the preview's picture) from the family's media record
(:class:`edgematte.devices.MediaUnit`), and the app record's pipeline (which thread runs or waits for which
stages). The frame period is the slowest thread's time, the host work spread over the board's cores, or DVPP's
work, whichever is the limit; the latency is a frame's trip through every thread. A prediction until a board runs
the app, whose timing line (``ms/frame``) measures the same stages.
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
    blend_ms = in_graph_blend_ms(family, width, height, *host_cpu["network"])
    modes = {}
    for key, row in host_cpu["apps"][app.name].items():
        if not key.startswith(camera + " "):
            continue
        mode = key[len(camera) + 1:]
        stages = {name: ms * cpu.slowdown for name, ms in row["stages"].items()}
        stages.update(infer=npu_ms, **_dvpp_ms(family, width, height, mode))
        m = _loop(app, cpu, stages)
        modes[mode] = {**m, "npu_ms": round(npu_ms, 2), "stages": {name: round(ms, 2) for name, ms in stages.items()}}
        if mode.startswith(("composite", "side-by-side")):  # the alternative: upsample and blend in the om graph
            unpack = host_cpu["graph_output_ms"][camera] * cpu.slowdown  # the result made the output's picture
            moved = {**stages, "composite": unpack, "infer": npu_ms + blend_ms}
            modes[mode]["in_graph_blend"] = {"npu_extra_ms": round(blend_ms, 2), "fps": _loop(app, cpu, moved)["fps"]}
    return {"app": app.name, "camera": camera, "cpu": {"cores": cpu.cores, "core": cpu.core, "slowdown": cpu.slowdown,
                                                       "source": cpu.source}, "note": NOTE, "modes": modes}


DEVICE_STAGES = ("infer", "jpegd", "vpc", "jpege")  # the chip's work: not host time


def _loop(app, cpu, stages: dict) -> dict:
    """The period, latency and bottleneck of ``app``'s pipeline with these stage times (ms on the board)."""
    threads = {name: sum(stages.get(stage, 0.0) for stage in members) for name, members in app.pipeline}
    host = sum(ms for name, ms in stages.items() if name not in DEVICE_STAGES)
    dvpp = sum(ms for name, ms in stages.items() if name in DEVICE_STAGES and name != "infer")
    limits = {**threads, f"the CPU ({cpu.cores} cores)": host / cpu.cores, "DVPP": dvpp}
    slowest = max(limits, key=limits.get)
    period, latency = limits[slowest], sum(threads.values())
    return {"fps": round(1000.0 / period, 1), "latency_ms": round(latency, 1),
            "latency_frames": round(latency / period, 2), "host_ms": round(host, 2), "dvpp_ms": round(dvpp, 2),
            "bottleneck": slowest, "threads": {name: round(ms, 2) for name, ms in threads.items()}}


def in_graph_blend_ms(family, width: int, height: int, net_w: int, net_h: int) -> float:
    """The cost model's time on ``family``'s chip for the alpha's upsample to the frame and the blend, were they
    ops of the om graph. With the host's work on its result (``graph_output_ms``, measured by bench.host) in place
    of the composite, it is the simulator's other variant; the frame's and background's way in (a second AIPP
    input) is taken to cost what the frame's upload to DVPP costs now."""
    from onnx import TensorProto, helper

    from edgematte.costmodel import CHIPS, ops_from_onnx, predict

    frame = [1, 3, height, width]
    graph = helper.make_graph(
        [helper.make_node("Resize", ["alpha", "", "scales"], ["up"], mode="linear"),
         helper.make_node("Sub", ["frame", "background"], ["difference"]),
         helper.make_node("Mul", ["up", "difference"], ["scaled"]),
         helper.make_node("Add", ["background", "scaled"], ["out"])], "in_graph_blend",
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, net_h, net_w]),
         helper.make_tensor_value_info("frame", TensorProto.FLOAT, frame),
         helper.make_tensor_value_info("background", TensorProto.FLOAT, frame)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, frame)],
        [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, height / net_h, width / net_w])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    return predict(ops_from_onnx(model), CHIPS[family.soc_version]).seconds * 1000.0


FULL_HD = 1920 * 1080


def _dvpp_ms(family, width: int, height: int, mode: str) -> dict:
    """DVPP's time per frame for the app of ``family`` in ``mode``: JPEGD decodes the camera's MJPEG frame, VPC
    scales it, JPEGE encodes the preview's picture (twice the frame side by side); none without a media record."""
    if family.media is None:
        return {}
    per_pixel = family.media.ms_1080p / FULL_HD
    stages = {"jpegd": family.media.jpegd_ms_1080p / FULL_HD * width * height, "vpc": per_pixel * width * height}
    if mode.endswith("preview"):
        stages["jpege"] = per_pixel * width * height * (2 if mode.startswith("side-by-side") else 1)
    return stages


def loop_lines(loop: dict) -> list[str]:
    cpu = loop["cpu"]
    lines = [f"the {loop['app']} loop at {loop['camera']}, predicted ({cpu['cores']} cores of {cpu['core']}, host "
             f"time x{cpu['slowdown']:g} of this machine's, an estimate):"]
    for mode, m in loop["modes"].items():
        lines.append(f"  {mode:<24} {m['fps']:6.1f} fps, latency {m['latency_ms']:.0f} ms ({m['latency_frames']:.1f} "
                     f"frames), host {m['host_ms']:.1f} ms, NPU {m['npu_ms']:.1f} ms"
                     + (f", DVPP {m['dvpp_ms']:.1f} ms" if m["dvpp_ms"] else "") + f", bottleneck {m['bottleneck']}"
                     + (f"; blended in the om graph (+{m['in_graph_blend']['npu_extra_ms']:.1f} ms NPU) "
                        f"{m['in_graph_blend']['fps']:.1f} fps" if "in_graph_blend" in m else ""))
    return lines


def family_route(family) -> str:
    """The cost model's route name for ``family``'s compiler (bench/device.py's ``route_graphs``)."""
    return f"{family.compiler.reads} ({family.compiler})"
