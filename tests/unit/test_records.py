"""The records (networks, device families, compilers, apps) carry every variation: the package decides nothing
on a network's, an app's or a compiler's name outside them, and the records agree with each other."""

import re
from pathlib import Path

from edgematte.apps import APPS, app_of
from edgematte.bundle import LAYOUT
from edgematte.compilers import COMPILERS
from edgematte.devices import DEVICES
from edgematte.networks import DEFAULT_NETWORK, NETWORKS, REFINERS, network
from edgematte.spec import resolve_spec

PACKAGE = Path(__file__).parents[2] / "edgematte"
RECORDS = {"networks.py", "devices.py", "apps.py", "compilers.py"}
# a comparison with a network's, an app's or a compiler's name, a type test on a network class, a family by name
NAME_DECISION = re.compile(r"""(==|!=)\s*(MNET|MODNET\w*|ACL_APP|HILENS_SKILL|["'](mnet|modnet4|atc|omg|hilens_skill|"""
                           r"""acl_app)["'])|isinstance\([^)]*\b(MNet|MODNet4)\b|looks_like_mnet\(|DEVICES\[\s*["']""")


def name_decisions() -> list[str]:
    return [f"{path.relative_to(PACKAGE)}:{i}" for path in sorted(PACKAGE.rglob("*.py")) if path.name not in RECORDS
            for i, line in enumerate(path.read_text().splitlines(), 1) if NAME_DECISION.search(line.split("#", 1)[0])]


def test_no_decision_on_a_name_outside_the_records():
    assert len(name_decisions()) <= 3, name_decisions()


def test_the_count_sees_a_decision_when_there_is_one():
    assert NAME_DECISION.search('if spec.model == "mnet":') and NAME_DECISION.search("family = DEVICES['hilens-kit']")
    assert NAME_DECISION.search("if device.compiler == 'atc':") and not NAME_DECISION.search("if spec.network.feedback:")


def test_every_family_names_a_compiler_and_an_app_that_exist_and_every_app_runs_somewhere():
    for family in DEVICES.values():
        assert COMPILERS[family.compiler.name] is family.compiler
        assert app_of(family).role in LAYOUT
    assert {family.app for family in DEVICES.values()} == set(APPS)


def test_each_network_has_one_frame_network_and_its_refiners():
    assert [n.name for n in NETWORKS.values() if n.frame_network] == [DEFAULT_NETWORK]
    assert set(REFINERS) == {n.name for n in NETWORKS.values() if not n.frame_network}
    for record in NETWORKS.values():
        spec = resolve_spec(model=record.name)
        assert spec.network is record and spec.second_input == getattr(spec, record.second_input)
        assert (record.default_size is None) or f"{spec.width}x{spec.height}" == record.default_size


def test_a_network_refuses_the_options_of_another_by_name():
    import pytest

    from edgematte.errors import SpecError

    with pytest.raises(SpecError, match=r"--int8 applies to MODNet only: use it with --model modnet4"):
        network("mnet").refuse_options(int8=True)
    with pytest.raises(SpecError, match=r"--width applies to M-Net only"):
        network("modnet4").refuse_options(width=0.5)
    network("modnet4").refuse_options(int8=True, width=None, align_corners=False)
