"""The refiner stage: the trimap from MODNet's alpha, the box with the most unknown pixels, when M-Net runs, and
code the Kit's Python can run."""

import ast
import inspect

import numpy as np

from edgematte import refine
from edgematte.refine import BAND, RefineSchedule, best_box, trimap_from_alpha


def test_thresholds_and_band():
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, 32:] = 1.0
    alpha[:, 30:32] = 0.5  # a soft edge
    trimap = trimap_from_alpha(alpha)
    row = trimap[10]
    half = BAND // 2
    assert np.all(row[:30 - half] == 0.0) and np.all(row[32 + half:] == 1.0)
    assert np.all(row[30 - half:32 + half] == 0.5)  # the soft edge and `band // 2` pixels either side


def test_uncertain_everywhere_in_between():
    alpha = np.full((32, 32), 0.5, np.float32)
    assert np.all(trimap_from_alpha(alpha) == 0.5)
    assert np.all(trimap_from_alpha(np.ones((32, 32), np.float32)) == 1.0)  # a picture edge is not an edge


def test_source_is_self_contained_for_the_board():
    tree = ast.parse(inspect.getsource(refine), feature_version=(3, 7))
    imports = {a.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for a in node.names}
    assert imports == {"cv2", "numpy"}


def test_best_box_finds_the_densest_window():
    unknown = np.zeros((40, 60), bool)
    unknown[30:35, 50:58] = True  # 40 pixels near the bottom right
    unknown[2, 2:12] = True       # 10 elsewhere
    assert best_box(unknown, 16, 16) == (42, 19, 40)
    assert best_box(unknown, 60, 40) == (0, 0, 50)  # the whole mask
    assert best_box(np.zeros((8, 8), bool), 4, 4) == (0, 0, 0)


def test_schedule_reuses_until_the_band_changes():
    schedule = RefineSchedule(every=5, change=0.1)
    codes = np.ones((10, 10), np.uint8)
    assert schedule.due((0, 0, 10, 10), codes)
    assert not schedule.due((0, 0, 10, 10), codes)
    changed = codes.copy()
    changed[0, :5] = 2  # 5 % of the crop: still the same band
    assert not schedule.due((0, 0, 10, 10), changed)
    changed[1] = 2  # 15 %
    assert schedule.due((0, 0, 10, 10), changed)
    assert schedule.due((2, 0, 10, 10), changed)  # the box moved
    assert [schedule.due((2, 0, 10, 10), changed) for _ in range(5)] == [False, False, False, False, True]
