"""Runs the PyTorch model, the reference every exported artifact is compared with."""

from __future__ import annotations

import numpy as np
import torch

from edgematte.spec import PipelineSpec


class TorchRunner:
    name = "pytorch"

    def __init__(self, model: torch.nn.Module, spec: PipelineSpec):
        """``model``: MODNet4 or M-Net (M-Net with real max-unpooling by indices, the reference the
        index-free export is compared with)."""
        self.model = model.eval()
        if getattr(model, "index_free", False):
            raise ValueError("the reference runs M-Net with its pooling indices (index_free=False)")
        self.spec = spec

    @torch.no_grad()
    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        alpha = self.model(*(torch.from_numpy(feed[name]) for name in self.spec.input_names))
        return {self.spec.alpha_output: alpha.numpy()}
