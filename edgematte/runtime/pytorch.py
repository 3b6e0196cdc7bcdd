"""Runs the PyTorch model, the reference every exported artifact is compared with."""

from __future__ import annotations

import numpy as np
import torch

from edgematte.model.modnet4 import MODNet4
from edgematte.spec import PipelineSpec


class TorchRunner:
    name = "pytorch"

    def __init__(self, model: MODNet4, spec: PipelineSpec):
        self.model = model.eval()
        self.spec = spec

    @torch.no_grad()
    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        alpha = self.model(torch.from_numpy(feed[self.spec.image_input]),
                           torch.from_numpy(feed[self.spec.alpha_input]))
        return {self.spec.alpha_output: alpha.numpy()}
