"""Test-dependency detection and the synthesized Dockerfile."""

from __future__ import annotations

from inversion.engine.gold.dockerfile import detect_test_deps, install_command, is_installable, synthesize


def test_pyproject_test_extra_wins_over_dev(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname="x"\nversion="1"\n[project.optional-dependencies]\ndev=["black"]\ntests=["hypothesis"]\n'
    )
    deps = detect_test_deps(tmp_path)
    assert deps.extras == ["tests"]
    assert install_command(deps) == "pip install '.[tests]' pytest"


def test_requirement_files_and_setup_cfg_extras(tmp_path):
    (tmp_path / "setup.cfg").write_text("[options.extras_require]\ntesting = pytest-mock\n")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "tests.txt").write_text("pytest==8.0\n")
    (tmp_path / "requirements-dev.txt").write_text("tox\n")
    deps = detect_test_deps(tmp_path)
    assert deps.extras == ["testing"]
    assert deps.requirement_files == ["requirements/tests.txt"]  # test files beat dev files


def test_of_requirement_files_pinned_per_python_version_one_is_installed(tmp_path):
    """wcwidth 0.2.13 ships requirements-tests36/37/39.txt: pinned sets pip refuses together (attrs 22.2 and 23.1)."""
    (tmp_path / "setup.py").write_text("")
    for name in ("requirements-tests36.txt", "requirements-tests37.txt", "requirements-tests39.txt",
                 "requirements-test-extra.txt"):
        (tmp_path / name).write_text("attrs\n")
    deps = detect_test_deps(tmp_path)
    assert deps.requirement_files == ["requirements-test-extra.txt", "requirements-tests39.txt"]
    for name in ("test-requirements-py3.12.txt", "test-requirements-py3.13.txt"):
        (tmp_path / name).write_text("attrs\n")  # only newer pins than the image's Python: the oldest of them
    assert "test-requirements-py3.12.txt" in detect_test_deps(tmp_path).requirement_files
    assert "test-requirements-py3.13.txt" not in detect_test_deps(tmp_path).requirement_files


def test_tox_deps_when_nothing_else_declares_them(tmp_path):
    (tmp_path / "reqs.txt").write_text("attrs\n")
    (tmp_path / "tox.ini").write_text(
        "[testenv]\ndeps =\n    -r reqs.txt\n    hypothesis>=6\n    py38: mock\n    py{26,27}: unittest2\n"
        "    py{27,311}-cov: pytest-cov\n    {env:EXTRA_DEPS}\ncommands = pytest\n"
    )
    deps = detect_test_deps(tmp_path)
    # factor-conditional lines count for Python 3 (ecdsa declares hypothesis only so); Python 2 ones do not
    assert deps.requirement_files == ["reqs.txt"] and deps.packages == ["hypothesis>=6", "mock", "pytest-cov"]
    assert install_command(deps, installable=is_installable(tmp_path)) == (
        "pip install -r reqs.txt 'hypothesis>=6' mock pytest-cov pytest")


def test_tests_require_and_dependency_groups_without_their_old_upper_bounds(tmp_path):
    (tmp_path / "setup.py").write_text("setup(name='p', tests_require=['pytest<5', 'hypothesis<5'])\n")
    assert detect_test_deps(tmp_path).packages == ["pytest", "hypothesis"]
    (tmp_path / "setup.py").unlink()
    (tmp_path / "pyproject.toml").write_text("[dependency-groups]\ntest = ['pytest>=7', 'freezegun', {include-group = 'x'}]\n")
    assert detect_test_deps(tmp_path).packages == ["pytest", "freezegun"]


def test_dockerfile_contract():
    text = synthesize(base_image="local/base:1", install_cmd="pip install .\npip install pytest", with_ca=True)
    lines = text.splitlines()
    assert lines[0] == "FROM local/base:1"
    assert any(ln.startswith("COPY studio-extra-ca.crt ") for ln in lines)
    assert "RUN python3 -m venv /opt/venv" in lines
    assert any(ln.startswith("ENV PATH=/studio-trust/bin:/opt/venv/bin:$PATH") for ln in lines)
    assert "COPY src/ /testbed/" in lines and "WORKDIR /testbed" in lines
    assert lines[-1] == "RUN pip install . && pip install pytest"
    assert "<<" not in text
    assert "studio-extra-ca" not in synthesize(base_image="b", install_cmd="true", with_ca=False)



def test_tests_pytest_would_not_collect_by_default_name_themselves_in_the_test_command(tmp_path):
    from inversion.engine.gold.sources import detect_layout

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "tests.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    pass\n")
    (tmp_path / "tests" / "helpers.py").write_text("def make():\n    return 1\n")  # no tests in it
    summary = detect_layout(tmp_path)
    assert summary["test_files"] == ["tests/tests.py"]
    assert summary["test_cmd"] == "python -m pytest -o python_files=tests.py"
    (tmp_path / "tests" / "test_more.py").write_text("def test_x():\n    pass\n")
    assert "test_cmd" not in detect_layout(tmp_path)  # pytest's defaults find them: no option
