"""Training on the model's own feedback: the schedule, the unroll that feeds a frame the model's own previous output,
RVM's coherence term, and the clip samples whose frames line up."""

import numpy as np
import pytest
import torch

from edgematte.data.synthetic import write_synthetic_dataset
from edgematte.spec import get_preset
from edgematte.train.augment import AugmentConfig
from edgematte.train.datasets import DataError, SampleBuilder, VideoMatteSource
from edgematte.train.feedback import FeedbackConfig, coherence_loss, unroll


def test_the_own_feedback_probability_rises_over_the_ramp_then_holds():
    fb = FeedbackConfig(frames=2, own=0.8, ramp=50)
    assert [fb.own_probability(s) for s in (0, 25, 50, 99)] == pytest.approx([0.0, 0.4, 0.8, 0.8])
    assert FeedbackConfig(frames=1, own=0.8).own_probability(99) == 0.0  # single frames: nothing precedes
    assert FeedbackConfig(frames=3, own=0.5, ramp=0).own_probability(0) == 0.5


@pytest.mark.parametrize("fb, words", [
    (FeedbackConfig(frames=1, own=0.5), "--own-feedback 0.5 needs clips of 2 or more frames"),
    (FeedbackConfig(frames=1, coherence=5.0), "--coherence 5 compares consecutive frames"),
    (FeedbackConfig(frames=2, own=1.5), "--own-feedback 1.5 is a probability"),
    (FeedbackConfig(frames=2, coherence=float("nan")), "--coherence nan is a loss weight"),
])
def test_settings_that_cannot_train_are_named(fb, words):
    assert any(words in p for p in fb.problems())
    assert FeedbackConfig(frames=2, own=0.8, coherence=5.0).problems() == []


class Recorder(torch.nn.Module):
    """Outputs (semantic, detail, matte) with the matte = the image's first channel; records what it was fed."""

    def __init__(self):
        super().__init__()
        self.fed = []

    def forward_train(self, image, second):
        self.fed.append(second.clone())
        return image[:, :1] * 0, image[:, :1] * 0, image[:, :1]


def test_a_frame_gets_the_models_own_detached_output_where_the_coin_says_so():
    images = torch.rand(2, 3, 3, 4, 4, requires_grad=True)  # 2 clips of 3 frames
    truth_prev = torch.full((2, 3, 1, 4, 4), 0.5)
    own = torch.tensor([[False, True, True], [False, False, True]])
    model = Recorder()
    outputs = unroll(model, images, truth_prev, own)
    assert len(outputs) == 3 and len(model.fed) == 3
    assert torch.equal(model.fed[0], truth_prev[:, 0])                    # frame 0: the ground-truth recipe
    assert torch.equal(model.fed[1][0], images[0, 0, :1].detach())        # clip 0, frame 1: its own frame-0 matte
    assert torch.equal(model.fed[1][1], truth_prev[1, 1])                 # clip 1, frame 1: the recipe
    assert torch.equal(model.fed[2][1], images[1, 1, :1].detach())        # clip 1, frame 2: its own frame-1 matte
    assert not model.fed[1].requires_grad                                 # detached: no gradient through time


def test_the_coherence_term_is_rvms_and_zero_for_a_change_the_truth_has():
    alphas = torch.rand(2, 3, 1, 4, 4)
    same_change = [alphas[:, t] + 0.2 for t in range(3)]  # wrong by a constant: its changes are the truth's
    assert coherence_loss(same_change, alphas).item() == pytest.approx(0.0, abs=1e-12)
    flicker = [alphas[:, t] + (0.1 if t % 2 else 0.0) for t in range(3)]
    assert coherence_loss(flicker, alphas).item() == pytest.approx(0.01, rel=1e-5)  # (±0.1)² on every pixel


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("clips"), clips=2, frames=5, width=80, height=64)


def test_a_clip_sample_is_consecutive_frames_cropped_alike(clips):
    """Each frame's ground-truth previous alpha (no dropout or affine) equals the frame before's alpha: one crop and
    one flip for the whole clip, so the previous alpha lines up with the frame it is fed with."""
    spec = get_preset("hilens-512x288").with_size(64, 32)
    builder = SampleBuilder(spec, AugmentConfig(prev_dropout=0.0, prev_affine=0.0, flip=1.0))
    source = VideoMatteSource(clips)
    sample = builder.clip(source.clip(3, 3, np.random.default_rng(1)), np.random.default_rng(1))
    assert sample["image"].shape == (3, 3, 32, 64) and sample["alpha"].shape == (3, 1, 32, 64)
    assert sample["own_draw"].shape == (3,)
    for t in (1, 2):
        assert np.array_equal(sample["prev_alpha"][t], sample["alpha"][t - 1])
    assert not np.array_equal(sample["alpha"][0], sample["alpha"][2])  # the subject moves


def test_a_clip_never_crosses_into_another_and_one_frame_is_the_single_sample(clips):
    source = VideoMatteSource(clips)
    rng = np.random.default_rng(0)
    first = source.clip(0, 3, rng)  # item 0 is frame 0: the clip's first 3 frames
    assert [i.alpha.name for i in first] == [p.alpha.name for p in source.items[:3]]
    assert len({i.alpha.parent for i in source.clip(5, 3, rng)}) == 1  # item 5: the second clip's frame 0
    spec = get_preset("hilens-512x288").with_size(64, 32)
    one = SampleBuilder(spec).clip([source.items[2]], np.random.default_rng(4))
    single = SampleBuilder(spec)(source.items[2], np.random.default_rng(4))
    assert all(np.array_equal(one[k][0], single[k]) for k in single)


def test_clips_longer_than_the_data_are_refused_by_name(clips):
    with pytest.raises(DataError, match="has 5 frames, fewer than --clip-frames 6"):
        VideoMatteSource(clips).require_frames(6)


def test_a_clip_whose_frames_differ_in_size_is_named(tmp_path):
    """A frame of another size inside a clip would break the one crop for all: the message names both files."""
    import cv2

    source = VideoMatteSource(write_synthetic_dataset(tmp_path, clips=1, frames=4, width=80, height=64))
    items = source.clip(2, 3, np.random.default_rng(0))
    small = cv2.imread(str(items[1].alpha), cv2.IMREAD_GRAYSCALE)[:32, :40]
    cv2.imwrite(str(items[1].alpha), small)
    spec = get_preset("hilens-512x288").with_size(64, 32)
    with pytest.raises(DataError, match=f"{items[1].alpha.name} is 40x32 but its clip's first frame"):
        SampleBuilder(spec).clip(items, np.random.default_rng(0))
