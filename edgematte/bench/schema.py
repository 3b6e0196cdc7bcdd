"""The ``edgematte bench --json`` schema (a JSON Schema subset) and a small validator for it."""

from __future__ import annotations

from edgematte.apps import APPS
from edgematte.bench.loop import LOOP_STAGES

_NUM = {"type": "number"}
_STATS = {"type": "object", "required": ["n", "p50", "p90", "p99", "mean", "fps"],
          "properties": {k: ({"type": "integer"} if k == "n" else _NUM) for k in ("n", "p50", "p90", "p99", "mean", "fps")}}
_ERR = {"type": "object", "required": ["max_abs", "mean_abs"], "properties": {"max_abs": _NUM, "mean_abs": _NUM}}
_ALPHA_ERR = {"type": "object", "required": ["portrait", "clip"], "properties": {"portrait": _ERR, "clip": _ERR}}

BENCH_SCHEMA = {
    "type": "object",
    "required": ["schema", "edgematte", "machine", "versions", "model", "settings", "variants", "ratios",
                 "camera_rounding_floor", "device_bound", "loop", "host_cpu"],
    "properties": {
        "schema": {"type": "string"},
        "edgematte": {"type": "string"},
        "machine": {"type": "object", "required": ["cpu", "cores", "threads", "platform", "python"],
                    "properties": {"cpu": {"type": "string"}, "cores": {"type": "integer"},
                                   "threads": {"type": "integer"}}},
        "versions": {"type": "object"},
        "model": {"type": "object", "required": ["preset", "width", "height", "parameters", "macs", "weights", "trained"],
                  "properties": {"width": {"type": "integer"}, "height": {"type": "integer"},
                                 "parameters": {"type": "integer"}, "macs": {"type": "integer"},
                                 "trained": {"type": "boolean"}}},
        "settings": {"type": "object", "required": ["runtime", "frames", "warmup", "loop_frames"]},
        "variants": {"type": "array", "items": {
            "type": "object", "required": ["name", "infer_ms", "gflops_per_s"],
            "properties": {"name": {"type": "string"}, "infer_ms": _STATS, "gflops_per_s": _NUM,
                           "alpha_vs_fp32": _ALPHA_ERR,
                           "mixed_precision": {  # only with --int8-max-error
                               "type": "object",
                               "required": ["max_error", "error", "error_all_int8", "met", "units", "nodes_fp32",
                                            "int8_mac_fraction", "most_sensitive"],
                               "properties": {"max_error": _NUM, "error": _NUM, "error_all_int8": _NUM,
                                              "met": {"type": "boolean"}, "units": {"type": "integer"},
                                              "nodes_fp32": {"type": "array", "items": {"type": "string"}},
                                              "int8_mac_fraction": _NUM}}}}},
        "ratios": {"type": "object", "required": ["original_over_edgematte_fp32", "original_over_edgematte_int8"],
                   "properties": {"original_over_edgematte_fp32": _NUM, "original_over_edgematte_int8": _NUM}},
        "camera_rounding_floor": {**_ALPHA_ERR, "required": ["portrait", "clip", "note"]},
        "device_bound": {"type": "object", "required": ["device", "fp16_peak_flops", "min_infer_ms", "note"],
                         "properties": {"min_infer_ms": _NUM}},
        "loop": {"type": "object", "required": ["input", "frames", "stages", "total", "non_infer_fraction",
                                                "non_infer_fraction_without_aipp"],
                 "properties": {"stages": {"type": "object",
                                           "required": list(LOOP_STAGES),
                                           "additionalProperties": _STATS},
                                "total": _STATS, "non_infer_fraction": _NUM}},
        "host_cpu": {"type": "object", "required": ["clock", "frames", "network", "apps", "graph_output_ms",
                                                  "cpu_decode_ms"],
                     "properties": {"frames": {"type": "integer"}, "apps": {
                         "type": "object", "required": list(APPS), "additionalProperties": {
                         "type": "object", "additionalProperties": {
                             "type": "object", "required": ["stages", "total"],
                             "properties": {"stages": {"type": "object", "additionalProperties": _NUM},
                                            "total": _NUM}}}}}},
        "device_model": {  # only with --device: the cost model's prediction (costmodel.py), not a measurement
            "type": "object", "required": ["device", "soc_version", "chip", "size", "routes", "note"],
            "properties": {"routes": {"type": "array", "items": {
                "type": "object", "required": ["route", "layers", "fp16", "int8"],
                "properties": {"layers": {"type": "integer"},
                               "fp16": {"type": "object", "required": ["infer_ms", "fps", "launched", "overhead_ms",
                                                                       "by_bound_ms", "top"],
                                        "properties": {"infer_ms": _NUM, "fps": _NUM, "launched": {"type": "integer"},
                                                       "top": {"type": "array"}}},
                               "int8": {"type": "object", "required": ["infer_ms", "fps"],
                                        "properties": {"infer_ms": _NUM, "fps": _NUM}}}}},
                           "note": {"type": "string"},
                           "loop": {"type": "object", "required": ["app", "camera", "cpu", "note", "modes"],
                                    "properties": {"modes": {"type": "object", "additionalProperties": {
                                        "type": "object",
                                        "required": ["fps", "latency_ms", "latency_frames", "host_ms", "npu_ms",
                                                     "dvpp_ms", "bottleneck", "threads", "stages"],
                                        "properties": {"fps": _NUM, "latency_ms": _NUM, "host_ms": _NUM,
                                                       "npu_ms": _NUM, "dvpp_ms": _NUM,
                                                       "in_graph_blend": {"type": "object",
                                                                          "required": ["npu_extra_ms", "fps"]}}}}}}}},
        "fp16_simulation": {"type": "object", "required": ["portrait", "seconds", "note"],
                            "properties": {"portrait": _ERR, "seconds": _NUM}},  # only with --fp16
        "refiner": {  # only for a bundle with the M-Net refiner
            "type": "object",
            "required": ["network", "width", "size", "parameters", "macs", "infer_ms", "runs_per_frame",
                         "cpu_ms_per_frame", "device_bound"],
            "properties": {"width": _NUM, "parameters": {"type": "integer"}, "macs": {"type": "integer"},
                           "infer_ms": _STATS, "runs_per_frame": _NUM, "cpu_ms_per_frame": _NUM,
                           "device_bound": {"type": "object", "required": ["min_infer_ms", "over_modnet",
                                                                           "min_ms_per_frame", "note"],
                                            "properties": {"min_infer_ms": _NUM, "over_modnet": _NUM,
                                                           "min_ms_per_frame": _NUM}}}},
    },
}

_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}


def schema_problems(value, schema: dict = BENCH_SCHEMA, path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (type, required, properties, items, additionalProperties)."""
    want = schema.get("type")
    if want:
        ok = isinstance(value, _TYPES[want]) and not (want in ("integer", "number") and isinstance(value, bool))
        if not ok:
            return [f"{path}: expected {want}, got {type(value).__name__}"]
    problems = []
    if isinstance(value, dict):
        problems += [f"{path}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += schema_problems(value[key], sub, f"{path}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value.keys() - schema.get("properties", {}).keys():
                problems += schema_problems(value[key], extra, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{path}[{i}]")
    return problems
