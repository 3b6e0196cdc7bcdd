"""``edgematte eval --refiner mnet``: MODNet alone against MODNet + M-Net under the trimap protocol, with the
device's trimaps and given ones; the device-crop row follows refine.py; synthetic data is labelled; misuse."""

import json

import cv2
import numpy as np
import pytest
from clitools import assert_user_error, run

from edgematte import api
from edgematte.data.synthetic import write_synthetic_dataset
from edgematte.evaluate_refiner import as_protocol_trimap, from_protocol_trimap

ARGS = ["--refiner", "mnet", "--size", "64x64", "--refiner-size", "64x64", "--refiner-width", "0.25"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("data"), clips=2, frames=3, width=96, height=80)


@pytest.fixture(scope="module")
def trimaps(dataset, tmp_path_factory):
    from edgematte.train.trimap import detail_trimap

    root = tmp_path_factory.mktemp("trimaps")
    for gt in sorted(dataset.rglob("pha/*.png")):
        rel = gt.relative_to(dataset).parent.parent / "trimap" / gt.name
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), as_protocol_trimap(detail_trimap(cv2.imread(str(gt), 0) / 255.0, width=7)))
    return root


def test_both_bands_every_method_and_the_synthetic_label(dataset, trimaps, tmp_path):
    r = run("eval", "--data", dataset, *ARGS, "--trimap", trimaps, "--json", tmp_path / "r.json")
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC data" in r.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["synthetic"] and report["frames"] == 6
    assert set(report["bands"]) == {"device trimap", "given trimap"}
    for rows in report["bands"].values():
        assert set(rows) == {"MODNet", "MODNet + M-Net (device crop)", "MODNet + M-Net (whole frame)",
                             "M-Net, given trimap"}
        assert all(set(row) == {"SAD", "MSE", "Grad", "Conn"} for row in rows.values())


def test_given_trimaps_decide_the_given_band(dataset, trimaps):
    """MODNet's SAD on the given trimaps' band, recomputed here from the definition: MODNet as deployed (its
    alpha fed back, scaled to the frame, written to 8 bits)."""
    report = api.evaluate(data=dataset, refiner="mnet", size="64x64", refiner_size="64x64", refiner_width=0.25,
                          trimap=trimaps)
    from edgematte.model.modnet_checkpoint import default_model
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.spec import resolve_spec

    sads = []
    spec = resolve_spec(size="64x64")
    runner = TorchRunner(default_model(spec.seed).model, spec)
    for clip in sorted(p for p in dataset.glob("synthetic/*") if p.is_dir()):
        prev = np.zeros((64, 64), np.float32)
        for gt_path in sorted((clip / "pha").glob("*.png")):
            frame = cv2.imread(str(clip / "com" / gt_path.name))[..., ::-1]
            small = cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA)
            prev = np.clip(runner.infer({"image": spec.normalize_rgb(small), "prev_alpha": prev[None, None]})["alpha"][0, 0], 0, 1)
            alpha = cv2.resize(prev, (96, 80), interpolation=cv2.INTER_LINEAR)
            gt = cv2.imread(str(gt_path), 0) / 255.0
            band = cv2.imread(str(trimaps / clip.relative_to(dataset) / "trimap" / gt_path.name), 0) == 128
            pred = np.clip(np.round(alpha.astype(np.float64) * 255), 0, 255) / 255
            sads.append(np.abs(pred - gt)[band].sum() / 1e3)
    assert report.rows["given trimap"]["MODNet"]["SAD"] == pytest.approx(np.mean(sads), rel=1e-6)


def test_protocol_trimap_round_trip():
    t = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert as_protocol_trimap(t).tolist() == [[0, 128, 255]]
    assert from_protocol_trimap(np.array([[0, 128, 255, 100]], np.uint8)).tolist() == [[0.0, 0.5, 1.0, 0.5]]


def test_a_bundle_with_the_refiner_is_compared_on_its_crops(dataset, tmp_path):
    bundle = api.export(to="om", device="ascend310b4", size="64x64", refiner="mnet", refiner_size="64x64",
                        refiner_width=0.25, out=tmp_path / "b")
    report = api.evaluate(bundle=bundle.out, data=dataset, refiner="mnet")
    assert set(report.rows["device trimap"]) == {"MODNet", "MODNet + M-Net (device crop)"}
    assert "onnxruntime" in report.source and report.frames == 6


def test_misuse_is_one_error_line(dataset, tmp_path, app_bundle):
    assert_user_error(run("eval", "--data", dataset, "--refiner-size", "64x64"), "add --refiner mnet")
    assert_user_error(run("eval", "--refiner", "mnet", "--size", "64x64"), "--data DIR")
    assert_user_error(run("eval", "--bundle", app_bundle.out, "--data", dataset, "--refiner", "mnet"), "has no refiner")
