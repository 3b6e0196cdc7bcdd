"""The device's FP16 arithmetic, estimated: the network in half-precision PyTorch against FP32."""

from __future__ import annotations

import time

from edgematte.spec import PipelineSpec


def fp16_simulation(model, spec: PipelineSpec) -> dict:
    """The device computes in FP16 (AIPP output and the cube unit): the alpha error of the network run in
    half precision (PyTorch, CPU) against FP32 on the portrait. Slow on a CPU (~20 s at 512x288)."""
    import copy

    import torch

    from edgematte.verification.golden import portrait_rgb

    image = torch.from_numpy(spec.normalize_rgb(portrait_rgb(spec.width, spec.height)))
    prev = torch.zeros(spec.alpha_shape)
    start = time.perf_counter()
    with torch.no_grad():
        want = model.eval()(image, prev)
        got = copy.deepcopy(model).half()(image.half(), prev.half()).float()
    d = (got - want).abs()
    return {"portrait": {"max_abs": float(d.max()), "mean_abs": float(d.mean())},
            "seconds": round(time.perf_counter() - start, 2),
            "note": "half-precision PyTorch on the CPU: an estimate of the device's FP16 arithmetic, not the device"}
