"""Helpers for tests that build small graphs in PyTorch."""

import io
import warnings

import onnx
import torch


def module_to_onnx(module, shape, opset=11):
    """``module`` exported as the project exports (TorchScript exporter), one input ``x``, one output ``y``."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(shape),), buf, opset_version=opset, dynamo=False,
                          input_names=["x"], output_names=["y"])
    return onnx.load_from_string(buf.getvalue())
