"""Will an export fit in this machine's memory? Refused up front, not killed by the OOM killer mid-way.

The export's peak memory grows with the network's pixel count (the PyTorch trace, onnxsim, the golden
float64 reference, the readers). Measured with /usr/bin/time on 2026-12-02 (peak RSS of the process):
--to onnx 0.79 GB at 256x256 and 1.80 GB at 512x512, i.e. about 5.2 KB per pixel over a 0.45 GB base;
--to om adds the Caffe lowering and executor, 0.99 GB at 256x256. The estimate below takes 8 KB per
pixel over 0.5 GB, which covers both routes with a margin.
"""

from __future__ import annotations

from edgematte.spec import PipelineSpec

BASE_BYTES = 0.5e9
BYTES_PER_PIXEL = 8e3


def export_bytes(spec: PipelineSpec) -> float:
    return BASE_BYTES + BYTES_PER_PIXEL * spec.width * spec.height


def available_bytes() -> float | None:
    """MemAvailable from /proc/meminfo (Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def memory_problems(spec: PipelineSpec) -> list[str]:
    need, have = export_bytes(spec), available_bytes()
    if have is not None and need > have:
        return [f"exporting at {spec.width}x{spec.height} needs about {need / 1e9:.1f} GB of memory and this machine "
                f"has {have / 1e9:.1f} GB available"]
    return []
