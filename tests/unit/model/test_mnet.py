"""M-Net: the layer names and sizes of the reproductions, the in-graph one-hot and fusion, both unpooling modes,
and checkpoints in the training script's layout (from tests/reference_mnet.py, written independently)."""

import numpy as np
import pytest
import torch
from reference_mnet import RefMNet, randomize_mnet, save_training_format

from edgematte.errors import CheckpointError
from edgematte.model.mnet import MNet, trimap_one_hot
from edgematte.model.mnet_checkpoint import default_mnet, load_mnet_checkpoint, save_mnet_checkpoint


def test_sizes_per_width():
    # 25.7 M parameters at full width, 6.43 M at 0.5, 1.61 M at 0.25 (../shared/docs/mnet-facts.md)
    for width, millions in ((1.0, 25.7), (0.5, 6.43), (0.25, 1.61)):
        with torch.device("meta"):
            count = sum(p.numel() for p in MNet(width).parameters())
        assert round(count / 1e6, 2 if millions < 10 else 1) == millions


def test_state_dict_names_are_the_reproductions():
    with torch.device("meta"):
        ours, ref = MNet(0.25).state_dict(), RefMNet(0.25).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}
    assert "conv_1_1.0.weight" in ours and "deconv_1.1.running_var" in ours and "conv_0.bias" in ours


def test_one_hot_is_exact_for_the_three_levels():
    trimap = torch.tensor([0.0, 0.5, 1.0]).reshape(1, 1, 1, 3)
    bg, unknown, fg = (t.flatten().tolist() for t in trimap_one_hot(trimap))
    assert (bg, unknown, fg) == ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])


def test_fusion_keeps_the_known_regions():
    raw = torch.tensor([2.0, -1.0, 0.3, 0.3, 0.3]).reshape(1, 1, 1, 5)
    trimap = torch.tensor([0.5, 0.5, 0.5, 0.0, 1.0]).reshape(1, 1, 1, 5)
    assert MNet.fuse(raw, trimap).flatten().tolist() == pytest.approx([1.0, 0.0, 0.3, 0.0, 1.0])


def test_index_free_equals_indices_on_a_flat_image():
    model = default_mnet(seed=0, width=0.25).model
    image = torch.zeros(1, 3, 64, 64)
    image[..., :32, :] = 0.5  # two flat halves: the pooling windows are ties at every depth
    trimap = torch.full((1, 1, 64, 64), 0.5)
    with torch.no_grad():
        want = model(image, trimap)
        got = model.deployable()(image, trimap)
    assert torch.equal(got, want)
    assert not model.index_free  # the copy did not change the original


def test_training_format_checkpoint_loads_and_computes_the_reproduction(tmp_path):
    ref = randomize_mnet(RefMNet(0.25), seed=1)
    path = save_training_format(ref, tmp_path / "mnet_epoch7.pth")
    loaded = load_mnet_checkpoint(path)
    assert loaded.model.width == 0.25 and loaded.epoch == 7 and loaded.trained
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    trimap = torch.randint(0, 3, (1, 1, 64, 64)).float() / 2
    one_hot = [(trimap == level).float() for level in (0.0, 0.5, 1.0)]
    with torch.no_grad():
        assert torch.equal(loaded.model.raw_alpha(image, trimap), ref(torch.cat([image, *one_hot], dim=1)))


def test_bare_and_dataparallel_state_dicts_load(tmp_path):
    ref = randomize_mnet(RefMNet(0.5), seed=2)
    torch.save(ref.state_dict(), tmp_path / "bare.pth")
    torch.save({"module." + k: v for k, v in ref.state_dict().items()}, tmp_path / "dp.pth")
    for name in ("bare.pth", "dp.pth"):
        assert load_mnet_checkpoint(tmp_path / name).model.width == 0.5


def test_save_then_load_round_trips(tmp_path):
    model = default_mnet(seed=3, width=0.25).model
    path = save_mnet_checkpoint(model, tmp_path / "m.pth", epoch=2, step=40)
    again = load_mnet_checkpoint(path).model
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


@pytest.mark.parametrize("mutate, fragment", [
    (lambda s: s.pop("deconv_3.0.weight"), "1 missing (deconv_3.0.weight)"),
    (lambda s: s.update({"conv_1_1.0.weight": torch.zeros(48, 6, 3, 3)}), "width of 0.75"),
    (lambda s: s.update({"conv_0.bias": torch.tensor([float("nan")])}), "NaN or inf"),
    (lambda s: [s.pop(k) for k in [k for k in s if k.startswith("conv_1_1")]], "no conv_1_1.0.weight"),
])
def test_broken_checkpoints_are_named(tmp_path, mutate, fragment):
    state = RefMNet(0.25).state_dict()
    mutate(state)
    torch.save({"epoch": 1, "model": state, "optimizer": {}}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=None) as e:
        load_mnet_checkpoint(tmp_path / "bad.pth")
    assert fragment in str(e.value)


def test_a_modnet_checkpoint_is_not_taken_for_mnet(official_ckpt):
    with pytest.raises(CheckpointError, match="no conv_1_1.0.weight"):
        load_mnet_checkpoint(official_ckpt)


def test_embedded_default_raw_alpha_is_not_clipped_away():
    model = default_mnet(seed=0, width=1.0).model
    with torch.no_grad():
        raw = model.raw_alpha(torch.rand(1, 3, 64, 64) * 2 - 1, torch.full((1, 1, 64, 64), 0.5)).numpy()
    assert 0.2 < np.mean((raw > 0) & (raw < 1)) and raw.std() > 0.05
