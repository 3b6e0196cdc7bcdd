"""The route table drives the CLI's choices, the API's checks and what each bundle holds."""

import pytest

from edgematte.bundle import Bundle
from edgematte.devices import DEVICES
from edgematte.errors import SpecError
from edgematte.export.routes import DEFAULT_TARGET, ROUTES, TARGETS, VIAS, find_route


def test_find_route_reads_the_table():
    assert find_route(DEFAULT_TARGET).default
    assert (find_route("om").via, find_route("om").device.name) == ("caffe", "hilens-kit")
    assert find_route("om", "onnx").device.soc_version == "Ascend310"
    assert find_route("onnx").via is None and find_route("onnx").device is None
    with pytest.raises(SpecError, match="applies to --to om only, not 'onnx'"):
        find_route("onnx", "onnx")
    with pytest.raises(SpecError, match="did you mean om"):
        find_route("omm")
    with pytest.raises(SpecError, match="use one of caffe, onnx"):
        find_route("om", "tensorrt")


def test_every_route_names_known_device_families_and_the_cli_offers_the_tables_choices():
    from edgematte.cli import export

    for route in ROUTES:
        assert set(route.devices) <= set(DEVICES)
    params = {p.name: p for p in export.params}
    assert list(params["to"].type.choices) == list(TARGETS) and list(params["via"].type.choices) == list(VIAS)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_each_bundle_holds_what_its_route_record_says(route, route_bundles):
    bundle = Bundle.open(route_bundles[route.name].out)
    m = bundle.manifest
    assert (m.target, m.via, m.device) == (route.to, route.via, route.device.name if route.device else None)
    want = {"golden"} | ({"onnx"} if route.onnx else set()) | ({"prototxt", "caffemodel"} if route.caffe else set())
    if route.device:
        want |= {"aipp", "convert_script", "skill", "skill_config", "skill_config_items", "readme"}
        assert m.convert["tool"] == route.device.compiler
    assert set(m.artifacts) == want
    assert {c["reader"] for c in m.verification["checks"]} == (
        ({"onnxruntime"} if route.onnx else set()) | ({"caffe-numpy", "opencv-dnn"} if route.caffe else set()))
    assert bundle.file_problems() == []
