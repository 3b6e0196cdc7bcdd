"""Runs the PyTorch model, the reference every exported artifact is compared with."""

from __future__ import annotations

import numpy as np
import torch

from edgematte.spec import PipelineSpec


class TorchRunner:
    name = "pytorch"

    def __init__(self, model: torch.nn.Module, spec: PipelineSpec, float64: bool = False):
        """``model``: MODNet4 or M-Net (M-Net with real max-unpooling by indices, the reference the
        index-free export is compared with). ``float64``: run a float64 copy (outputs still float32)."""
        import copy

        if getattr(model, "index_free", False):
            raise ValueError("the reference runs M-Net with its pooling indices (index_free=False)")
        self.model = copy.deepcopy(model).eval().double() if float64 else model.eval()
        self.dtype = torch.float64 if float64 else torch.float32
        self.spec = spec

    @torch.no_grad()
    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        alpha = self.model(*(torch.from_numpy(feed[name]).to(self.dtype) for name in self.spec.input_names))
        return {self.spec.alpha_output: alpha.float().numpy()}
