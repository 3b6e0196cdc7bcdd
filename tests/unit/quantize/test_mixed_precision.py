"""INT8 quantization units and the accuracy-budgeted mixed-precision plan."""

import numpy as np
import onnx
import pytest

from edgematte.quantize.mixed_precision import budget_error, plan_mixed_precision
from edgematte.quantize.quantizer import QuantUnit


class AdditiveQuantizer:
    """Stands in for Int8Quantizer: a "model" is the set of units in INT8, and its error is the sum of
    their costs, so the best plan is known exactly."""

    def __init__(self, costs):
        self.units = [QuantUnit(f"conv{i}", (f"relu{i}",), macs=10 * (i + 1)) for i in range(len(costs))]
        self.cost = {u.node: c for u, c in zip(self.units, costs)}
        self.tried = 0

    def quantize(self, out_path, keep_fp32=(), only=None):
        kept = {u.node for u in keep_fp32}
        self.int8 = [u.node for u in (only if only is not None else self.units) if u.node not in kept]
        self.tried += 1
        return out_path


class SumProbe:
    def __init__(self, quantizer):
        self.q = quantizer

    def measure(self, runner):
        e = sum(self.q.cost[n] for n in self.q.int8)
        return {"portrait": {"mean_abs": e, "max_abs": 1.0}, "clip": {"mean_abs": e / 2, "max_abs": 1.0}}


def plan(costs, budget):
    q = AdditiveQuantizer(costs)
    return plan_mixed_precision(q, SumProbe(q), budget, runner_for=lambda p: p), q


def test_keeps_the_fewest_most_sensitive_units_in_fp32():
    costs = [0.001, 0.02, 0.0005, 0.01, 0.002, 0.0001, 0.004, 0.0002]
    p, q = plan(costs, 0.005)
    # most sensitive first: conv1 (0.02), conv3 (0.01); the rest sums to 0.0078 > 0.005, so conv6 (0.004) too
    assert [u.node for u in p.keep_fp32] == ["conv1", "conv3", "conv6"]
    assert p.met and p.error == pytest.approx(0.0038) and p.error <= 0.005
    assert p.error_all_int8 == pytest.approx(sum(costs))
    assert p.int8_mac_fraction == pytest.approx(1 - (20 + 40 + 70) / sum(10 * (i + 1) for i in range(8)))
    assert q.tried <= 1 + len(costs) + 1 + 3
    d = p.to_dict()
    assert d["nodes_fp32"] == ["conv1", "conv3", "conv6"] and d["most_sensitive"][0] == {"node": "conv1", "error_alone": 0.02}


def test_all_int8_when_it_meets_the_budget_without_a_sensitivity_pass():
    p, q = plan([0.001, 0.002], 0.01)
    assert p.met and p.keep_fp32 == [] and p.int8_mac_fraction == 1 and q.tried == 1


def test_a_budget_no_unit_can_meet_keeps_everything_fp32():
    p, _ = plan([0.02, 0.03, 0.04], 0.01)
    assert not p.met and len(p.keep_fp32) == 3 and p.int8_mac_fraction == 0


def test_budget_error_is_the_worse_of_portrait_and_clip():
    assert budget_error({"portrait": {"mean_abs": 0.1}, "clip": {"mean_abs": 0.3}}) == 0.3


def test_quant_units_cover_every_conv_and_count_the_models_macs(exported_bundle, tiny_spec):
    from edgematte.model.modnet_checkpoint import default_model
    from edgematte.bench.cost import count_macs
    from edgematte.quantize.quantizer import Int8Quantizer

    feeds = [{tiny_spec.image_input: np.zeros(tiny_spec.image_shape, np.float32),
              tiny_spec.alpha_input: np.zeros(tiny_spec.alpha_shape, np.float32)}]
    q = Int8Quantizer(exported_bundle.out / "modnet4.onnx", feeds)
    try:
        graph = onnx.load(str(q.prepared)).graph
        convs = [n.name for n in graph.node if n.op_type == "Conv"]
        units = q.units
        assert [u.node for u in units if u.macs] == convs
        acts = [a for u in units for a in u.activations] + [u.node for u in units if not u.macs]
        assert sorted(acts) == sorted(n.name for n in graph.node if n.op_type in ("Relu", "Clip"))
        model = default_model(tiny_spec.seed).model
        assert sum(u.macs for u in units) == count_macs(model, tiny_spec.image_shape, tiny_spec.alpha_shape)
    finally:
        q.close()
