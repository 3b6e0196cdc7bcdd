"""Shared fixtures: a tiny spec, official-format 3-channel checkpoints built from the reference
architecture (random weights and BatchNorm statistics), and one exported bundle reused by read-only tests."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from reference_modnet import RefMODNet, randomize  # noqa: E402

from edgematte.spec import get_preset  # noqa: E402

TINY = (64, 64)  # smallest size MODNet runs at with every branch > 1 pixel


@pytest.fixture(scope="session")
def tiny_spec():
    return get_preset("hilens-512x288").with_size(*TINY)


@pytest.fixture(scope="session")
def reference3():
    """The official 3-channel network with random weights and BatchNorm statistics."""
    return randomize(RefMODNet(), seed=3)


def save_official(model, path: Path, prefix: str) -> Path:
    """Save as the official loaders expect: a (DataParallel) state_dict, shared backbone under two keys."""
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, path)
    return path


@pytest.fixture(scope="session")
def official_ckpt(tmp_path_factory, reference3):
    """modnet_webcam_portrait_matting.ckpt as the official loaders write it: keys with ``module.``."""
    return save_official(reference3, tmp_path_factory.mktemp("ckpt") / "modnet_official.ckpt", "module.")


@pytest.fixture(scope="session")
def exported_bundle(tmp_path_factory, tiny_spec):
    """One ONNX export of the embedded default at the tiny size (tests must not modify it)."""
    from edgematte import api

    out = tmp_path_factory.mktemp("bundle") / "onnx"
    return api.export(to="onnx", size=f"{TINY[0]}x{TINY[1]}", out=out)


@pytest.fixture(scope="session")
def om_bundle(tmp_path_factory, tiny_spec):
    """One ``--to om`` (Caffe route) export of the embedded default at the tiny size (read-only)."""
    from edgematte import api

    out = tmp_path_factory.mktemp("bundle") / "om"
    return api.export(to="om", size=f"{TINY[0]}x{TINY[1]}", out=out)


@pytest.fixture(scope="session")
def route_bundles(tmp_path_factory, om_bundle, exported_bundle):
    """One tiny export (ExportResult) per route of the route table, the two shared bundles among them (read-only)."""
    from edgematte import api
    from edgematte.export.routes import ROUTES

    made = {"om --via caffe": om_bundle, "onnx": exported_bundle}
    for route in ROUTES:
        if route.name not in made:
            made[route.name] = api.export(to=route.to, via=route.via, size=f"{TINY[0]}x{TINY[1]}",
                                          out=tmp_path_factory.mktemp("route") / route.to)
    return made


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory):
    """The 5-second 720p sample clip with its tone (made here, nothing downloaded)."""
    from edgematte import api

    return api.sample_clip(tmp_path_factory.mktemp("clip") / "sample.mp4", seconds=5.0)


@pytest.fixture(scope="session")
def app_bundle(tmp_path_factory, tiny_spec):
    """One ``--to om --device ascend310b4`` export (ONNX for atc + NV21 AIPP + the AscendCL app), tiny, read-only."""
    from edgematte import api

    out = tmp_path_factory.mktemp("bundle") / "aipro"
    return api.export(to="om", device="ascend310b4", size=f"{TINY[0]}x{TINY[1]}", out=out)
