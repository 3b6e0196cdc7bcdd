"""The prototxt as text (golden), and the caffemodel read back by an independent decoder."""

from pathlib import Path

import numpy as np

from edgematte.export.caffe.net import CaffeNet, Enum
from edgematte.export.caffe.writer import encode_caffemodel, render_prototxt
from edgematte.runtime.caffe_files import parse_prototxt, read_caffemodel

GOLDEN = Path(__file__).parents[2] / "golden"


def tiny_net() -> CaffeNet:
    net = CaffeNet("tiny", {"image": (1, 3, 4, 6), "prev_alpha": (1, 1, 4, 6)}, outputs=["alpha"])
    net.add("Concat", ["image", "prev_alpha"], "cat", {"concat_param": {"axis": 1}})
    w = np.arange(4 * 4 * 3 * 3, dtype=np.float32).reshape(4, 4, 3, 3) / 100
    net.add("Convolution", ["cat"], "conv", {"convolution_param": {"num_output": 4, "bias_term": True,
                                                                   "kernel_size": 3, "pad": 1}},
            [w, np.array([0.5, -0.25, 1e-5, 3.0])])
    net.add("Eltwise", ["conv", "conv"], "sum", {"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, -0.1]}})
    net.add("Pooling", ["sum"], "pool", {"pooling_param": {"pool": Enum("AVE"), "global_pooling": True}})
    net.add("Convolution", ["pool"], "alpha", {"convolution_param": {"num_output": 1, "kernel_size": 1,
                                                                     "bias_term": False}}, [np.ones((1, 4, 1, 1))])
    return net


def test_prototxt_matches_golden_text():
    text = render_prototxt(tiny_net(), header="tiny test net")
    assert text == (GOLDEN / "tiny.prototxt").read_text()


def test_prototxt_parses_back_to_the_same_structure():
    parsed = parse_prototxt(render_prototxt(tiny_net(), header="a comment"))
    assert parsed["input"] == ["image", "prev_alpha"]
    assert [l["name"][0] for l in parsed["layer"]] == ["cat", "conv", "sum", "pool", "alpha"]
    conv = parsed["layer"][1]["convolution_param"][0]
    assert conv == {"num_output": [4], "bias_term": [True], "kernel_size": [3], "pad": [1]}
    assert parsed["layer"][2]["eltwise_param"][0] == {"operation": ["SUM"], "coeff": [1.0, -0.1]}


def test_caffemodel_round_trips_names_types_and_float32_blobs():
    net = tiny_net()
    layers = read_caffemodel_bytes(encode_caffemodel(net))
    assert list(layers) == [l.name for l in net.layers]
    assert {k: v["type"] for k, v in layers.items()} == {l.name: l.type for l in net.layers}
    for layer in net.layers:
        got = layers[layer.name]["blobs"]
        assert len(got) == len(layer.blobs)
        for a, b in zip(got, layer.blobs):
            assert a.shape == b.shape and a.dtype == np.float32 and np.array_equal(a, b)


def read_caffemodel_bytes(data: bytes):
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".caffemodel") as f:
        f.write(data)
        f.flush()
        return read_caffemodel(f.name)
