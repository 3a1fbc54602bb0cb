"""A project installed from its own tree (`pip install .`, as markupsafe builds its C extension) is
the project's code as the tests load it: the surface names its distribution, and the project
families break and heal its modules in site-packages as they do /testbed ones."""

from __future__ import annotations

import random
import textwrap

import pytest

from inversion.engine.episode.faults import PlanContext, family
from inversion.engine.episode.faults.project import project_sources
from tests.inversion.engine.episode.test_faults_docker import _break_and_heal, capture_gold
from tests.support.images import ensure_image, ensure_pytest_image

IMAGE = "studio-test/installed-project:2"
DOCKERFILE = """FROM {parent}
COPY testbed/ /testbed/
RUN pip install -q /testbed
"""
TESTBED = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "shop-prices"
        version = "1.0"

        [tool.setuptools.packages.find]
        where = ["src"]
    """,
    "src/shop/__init__.py": """
        from shop.prices import gross, net

        __all__ = ["gross", "net"]
    """,
    "src/shop/prices.py": """
        def net(amount, rate):
            return round(amount / (1 + rate), 2)


        def gross(amount, rate):
            return round(amount * (1 + rate), 2)
    """,
    "src/shop/labels.py": """
        def label(name, amount):
            return f"{name}: {amount:.2f}"


        def badge(name):
            return f"[{name.upper()}]"
    """,
    "tests/test_prices.py": """
        from shop import gross, net


        def test_gross():
            assert gross(100, 0.2) == 120.0


        def test_net():
            assert net(120, 0.2) == 100.0
    """,
    "tests/test_labels.py": """
        from shop.labels import badge, label


        def test_label():
            assert label("tea", 2) == "tea: 2.00"


        def test_badge():
            assert badge("new") == "[NEW]"
    """,
    "tests/test_plain.py": """
        def test_unrelated():
            assert sorted([3, 1, 2]) == [1, 2, 3]
    """,
}


@pytest.fixture(scope="module")
def installed(docker_client, base_image):
    files = {"Dockerfile": DOCKERFILE.format(parent=ensure_pytest_image(docker_client, base_image))}
    files.update({f"testbed/{p}": textwrap.dedent(b).lstrip() for p, b in TESTBED.items()})
    image = ensure_image(docker_client, IMAGE, files, owner="installed-project", network_mode="host")
    return {"image": image, **capture_gold(docker_client, image)}


@pytest.mark.docker
def test_the_surface_names_the_projects_installed_distribution(installed):
    surface = installed["surface"]
    assert surface["project_dists"] == ["shop-prices"]
    assert "pytest" in surface["distributions_used"] and "pytest" not in surface["project_dists"]
    sources = project_sources(surface)
    assert {m for m, _ in sources} == {"shop", "shop.prices", "shop.labels"}
    assert all("/site-packages/shop/" in path for _, path in sources)
    assert len(installed["passing"]) == 5


@pytest.mark.docker
@pytest.mark.parametrize("name", ["project_stale_bytecode", "project_truncated_module", "instrumentation_wrapper_drops_result"])
def test_project_families_break_and_heal_the_installed_modules(name, installed, docker_client):
    """Two modules, a step each; the tests that reach them fail and the others still pass;
    the verifier gives the broken state 0 and the repaired one 1."""
    fam = family(name)
    ctx = PlanContext(installed["surface"], {"stable_passing": installed["passing"]})
    assert fam.applicable(installed["surface"], ctx.baseline)
    plan = fam.deep_plan(ctx, random.Random(0))
    assert plan is not None and len(plan.actions) >= 2 and "site-packages" in " ".join(a.command for a in plan.actions)
    _break_and_heal(plan, installed["passing"], docker_client, installed["image"], installed["manifest"])
