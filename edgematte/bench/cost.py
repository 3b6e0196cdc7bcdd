"""What the network costs: parameters and multiply-accumulates at a size, counted from the model itself,
and the machine it is measured on."""

from __future__ import annotations

import os
import platform


def count_macs(model, image_shape, alpha_shape) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers), by forward hooks."""
    import torch
    from torch import nn

    macs = 0

    def conv_hook(module, inputs, output):
        nonlocal macs
        kh, kw = module.kernel_size
        macs += output.numel() * (module.in_channels // module.groups) * kh * kw

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    # The SE block runs its Linear weights as 1x1 convolutions through F.conv2d: count them from the weights.
    se = [m for m in model.modules() if type(m).__name__ == "SEBlock"]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(image_shape), torch.zeros(alpha_shape))
    finally:
        for h in handles:
            h.remove()
    macs += sum(l.in_features * l.out_features for s in se for l in s.modules() if isinstance(l, nn.Linear))
    return int(macs)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "cores": cores, "platform": platform.platform(), "python": platform.python_version()}
