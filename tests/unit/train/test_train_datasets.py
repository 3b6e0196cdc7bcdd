"""Bad training data gets a message naming the file or folder; good data yields the documented sample."""

import cv2
import numpy as np
import pytest

from edgematte.data.synthetic import write_synthetic_dataset
from edgematte.spec import get_preset
from edgematte.data.images import ImageFileError
from edgematte.train.datasets import DataError, ImageMatteSource, SampleBuilder, VideoMatteSource


@pytest.fixture
def clips(tmp_path):
    return write_synthetic_dataset(tmp_path / "d", clips=1, frames=4, width=80, height=64)


def test_a_sample_has_the_documented_arrays(clips):
    spec = get_preset("hilens-512x288").with_size(64, 32)
    source = VideoMatteSource(clips)
    sample = SampleBuilder(spec)(source.item(2, np.random.default_rng(0)), np.random.default_rng(0))
    assert sample["image"].shape == (3, 32, 64) and sample["image"].min() >= -1 and sample["image"].max() <= 1
    for key in ("alpha", "prev_alpha", "trimap"):
        assert sample[key].shape == (1, 32, 64) and sample[key].dtype == np.float32
    assert set(np.unique(sample["trimap"])) <= {0.0, 0.5, 1.0}
    again = SampleBuilder(spec)(source.item(2, np.random.default_rng(0)), np.random.default_rng(0))
    assert all(np.array_equal(sample[k], again[k]) for k in sample)  # seeded


def test_fgr_and_pha_counts_must_match(clips, tmp_path):
    clip = clips / "synthetic" / "clip00"
    (clip / "com" / "0003.png").unlink()
    with pytest.raises(DataError, match=r"clip00: com/ has 3 frames but pha/ has 4"):
        VideoMatteSource(clips)


def test_unreadable_image_and_empty_folder(clips, tmp_path):
    spec = get_preset("hilens-512x288").with_size(64, 32)
    bad = clips / "synthetic" / "clip00" / "pha" / "0001.png"
    bad.write_bytes(b"garbage")
    source = VideoMatteSource(clips)
    with pytest.raises(ImageFileError, match="0001.png cannot be read"):
        SampleBuilder(spec)(source.item(1, np.random.default_rng(0)), np.random.default_rng(0))
    empty = tmp_path / "e" / "clip" / "pha"
    empty.mkdir(parents=True)
    with pytest.raises(DataError, match="pha has no images"):
        VideoMatteSource(tmp_path / "e")
    with pytest.raises(DataError, match="no <clip>/pha/ folders"):
        VideoMatteSource(tmp_path / "nothing-here")


def test_image_mattes_need_matching_alpha(tmp_path):
    (tmp_path / "m" / "fg").mkdir(parents=True)
    (tmp_path / "m" / "alpha").mkdir()
    (tmp_path / "bg").mkdir()
    cv2.imwrite(str(tmp_path / "m" / "fg" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "m" / "alpha" / "b.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(tmp_path / "bg" / "x.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="a.png has no alpha"):
        ImageMatteSource(tmp_path / "m", tmp_path / "bg")


def test_foregrounds_composite_onto_background_images_and_video_frames(clips, tmp_path):
    spec = get_preset("hilens-512x288").with_size(64, 32)
    clip = clips / "synthetic" / "clip00"
    (clip / "com").rename(clip / "unused")  # fgr/ + pha/ only: composited on the fly
    bgs = tmp_path / "bgs"
    bgs.mkdir()
    cv2.imwrite(str(bgs / "a.png"), np.full((50, 70, 3), 30, np.uint8))
    writer = cv2.VideoWriter(str(bgs / "b.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (70, 50))
    for v in (200, 210, 220):
        writer.write(np.full((50, 70, 3), v, np.uint8))
    writer.release()
    source = VideoMatteSource(clips, bgs)
    seen = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        item = source.item(1, rng)
        seen.add(item.background.name)
        sample = SampleBuilder(spec)(item, rng)
        assert sample["image"].shape == (3, 32, 64)
    assert seen == {"a.png", "b.avi"}
    with pytest.raises(DataError, match="has no background images or videos"):
        VideoMatteSource(clips, tmp_path / "d")  # the dataset folder itself holds no backgrounds at top level
