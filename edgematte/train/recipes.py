"""The training recipes for the previous-alpha input, one record each: what `edgematte train --recipe` trains and
what the temporal study (:mod:`edgematte.ablation`) compares. :data:`SHIPPED` is the one `train` uses by default:
the method the committed study names (its results JSON's ``"shipped"``; a test holds the two equal), so the default
says what the evidence showed (docs/temporal.md).

A model trained with ``a-plain`` only ever sees zeros as its previous alpha, and the alpha enters the network as
2a - 1, so those weights train like a bias: fed a real alpha it would be outside its training. Its checkpoint
records ``feedback: false`` and both apps then feed it zeros (the settings block's ``FEEDBACK``).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgematte.train.augment import AugmentConfig
from edgematte.train.feedback import COHERENCE_WEIGHT, FeedbackConfig


@dataclass(frozen=True)
class Recipe:
    name: str
    augment: AugmentConfig
    feedback: bool  # in use: the model's own previous alpha (False: zeros, plain MODNet)
    clips: FeedbackConfig = FeedbackConfig()  # training on clips and on its own output
    summary: str = ""


NO_AUGMENT = dict(prev_affine=0.0, lighting=0.0)
# e-own: the full recipe on 2-frame clips, the second frame fed the model's own output with a probability rising to
# 0.8 over the first 600 steps (half the study's run), and RVM's coherence term. 2 frames, so a step's 8 frames are
# 4 clips and each forward still normalises a batch of 4 (3-frame clips would leave BatchNorm 2 or 3 samples).
OWN = FeedbackConfig(frames=2, own=0.8, ramp=600, coherence=COHERENCE_WEIGHT)
RECIPES = (
    Recipe("a-plain", AugmentConfig(prev_dropout=1.0, **NO_AUGMENT), feedback=False,
           summary="plain MODNet: the previous alpha always zeros"),
    Recipe("b-naive", AugmentConfig(prev_dropout=0.0, **NO_AUGMENT), feedback=True,
           summary="the previous alpha from the ground truth, zeros only at a clip's first frame"),
    Recipe("c-dropout", AugmentConfig(prev_dropout=0.3, **NO_AUGMENT), feedback=True,
           summary="+ a blank previous alpha with probability 0.3"),
    Recipe("d-full", AugmentConfig(), feedback=True, summary="+ the previous alpha's random affine and lighting"),
    Recipe("e-own", AugmentConfig(), feedback=True, clips=OWN,
           summary="d-full on 2-frame clips fed the model's own output, with RVM's coherence term"),
)
BY_NAME = {r.name: r for r in RECIPES}
SHIPPED = "a-plain"
