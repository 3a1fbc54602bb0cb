"""The set-up loop's rules on what real tools print: each failure becomes one named change of the
plan (never an edit of the project), no change is tried twice, and with no rule left the loop stops."""

from __future__ import annotations

from inversion.engine.gold.diagnosis import Context, diagnose, has_native_sources, project_modules
from inversion.engine.gold.dockerfile import SetupPlan, plan_test_command, render, synthesize

PLAN = SetupPlan(install="pip install . pytest")

# What pytest 9.2 prints for a conftest written for pytest 6 (pluggy's message, verbatim).
PLUGIN_ERROR = """pluggy._manager.PluginValidationError: Plugin '/testbed/conftest.py' for hook 'pytest_ignore_collect'
hookimpl definition: pytest_ignore_collect(path, config)
Argument(s) {'path'} are declared in the hookimpl but can not be found in the hookspec"""


def _no_results(console: str) -> dict:
    """A baseline whose runs wrote no JUnit (the run error carries the console tail)."""
    run = {"error": f"pytest wrote no results (exit 4): {console}", "counts": {}}
    return {"runs": [run, run], "tests": {}, "counts": {"total": 0}, "stable_passing": []}


def _failing(**messages: str) -> dict:
    tests = {tid: {"outcome": "error", "message": m, "duration": 0} for tid, m in messages.items()}
    return {"runs": [{"error": ""}], "tests": tests, "counts": {"total": len(tests)}, "stable_passing": []}


def _after_tests(baseline: dict, ctx: Context | None = None, plan: SetupPlan = PLAN):
    return diagnose(plan, build_error="", build_log="", baseline=baseline, reason="0 of 1 tests pass",
                    ctx=ctx or Context())


def test_an_old_pytest_hook_gets_pins_as_of_the_release_then_older_majors():
    asked = []
    ctx = Context(era_pins=lambda names: asked.append(names) or ("pytest==6.2.5",), newest=lambda name: "9.2.0")
    first = _after_tests(_no_results(PLUGIN_ERROR), ctx)
    assert asked == [("pytest",)] and first.plan.packages == ("pytest==6.2.5",)
    assert "PluginValidationError" in first.change or "6.2.5" in first.change
    second = _after_tests(_no_results(PLUGIN_ERROR), ctx, first.plan)  # the era pin did not help
    assert second.plan.packages == ("pytest<9",)  # replaces the pin, newest major first
    third = _after_tests(_no_results(PLUGIN_ERROR), ctx, second.plan)
    assert third.plan.packages == ("pytest<9", "pytest<8")
    rendered = render(third.plan, base_image="base", with_ca=False)
    assert rendered.splitlines()[-1] == "RUN pip install . pytest && pip install 'pytest<9' 'pytest<8'"


def test_a_plugin_written_for_an_older_pytest_pins_pytest_as_of_the_release():
    """Unseen prettytable 3.8.0: pytest-lazy-fixture reads `CallSpec.funcargs`, gone since pytest 8, so
    five test classes failed to collect; the gold was "ready" with the rest and no rule took it up."""
    errors = _failing(**{"tests/test_prettytable.py::TestStyle": (
        "collection failure\n/opt/venv/lib/python3.11/site-packages/pytest_lazyfixture.py:105: in normalize_call\n"
        "    valtype_keys = set(getattr(callspec, valtype).keys()) - used_keys\n"
        "E   AttributeError: 'CallSpec' object has no attribute 'funcargs'")})
    found = _after_tests(errors, Context(era_pins=lambda names: ("pytest==7.4.0",), newest=lambda name: "9.2.0"))
    assert found.plan.packages == ("pytest==7.4.0",)


def test_without_a_release_date_the_loop_goes_straight_to_older_majors():
    found = _after_tests(_no_results(PLUGIN_ERROR), Context(newest=lambda name: "9.2.0"))
    assert found.plan.packages == ("pytest<9",)


def test_every_missing_import_is_installed_at_once_by_its_distribution_name():
    baseline = _failing(**{
        "tests/test_time.py": "collection failure\nE   ModuleNotFoundError: No module named 'freezegun'",
        "tests/test_io.py": "collection failure\nE   ModuleNotFoundError: No module named 'yaml'",
        "tests/test_own.py": "E   ModuleNotFoundError: No module named 'calmclock.missing'",  # the project's bug
        "tests/test_dt.py": "E   ModuleNotFoundError: No module named 'dateutil.tz'",
    })
    found = _after_tests(baseline, Context(project_modules={"calmclock"}))
    assert found.plan.packages == ("freezegun", "PyYAML", "python-dateutil")
    assert "calmclock" not in found.change


def test_an_import_no_index_knows_is_not_guessed():
    baseline = _failing(t="E   ModuleNotFoundError: No module named 'internal_helpers'")
    found = _after_tests(baseline, Context(dist_exists=lambda name: False))
    assert found.plan is None and found.reason == "0 of 1 tests pass"


def test_a_plugin_option_in_addopts_installs_the_plugin_then_neutralises_the_option():
    console = "ERROR: usage: pytest [options] [file_or_dir] [file_or_dir] [...]\npytest: error: unrecognized arguments: --timeout=60"
    ctx = Context()
    found = _after_tests(_no_results(console), ctx)
    assert found.plan.packages == ("pytest-timeout",)
    again = _after_tests(_no_results(console), ctx, found.plan)  # still unknown: drop addopts in the command
    assert again.plan.test_args == ("-o", "addopts=")
    assert plan_test_command("python -m pytest", again.plan) == "python -m pytest -o addopts="
    console = "pytest: error: unrecognized arguments: --frobnicate"
    assert _after_tests(_no_results(console)).plan.test_args == ("-o", "addopts=")


def test_a_warning_filter_naming_a_missing_plugin_installs_it():
    console = ("pytest.PytestConfigWarning: Failed to import filter module 'pytest_asyncio': "
               "ignore::pytest_asyncio.plugin.PytestDeprecationWarning")
    found = _after_tests(_no_results(console))
    assert found.plan.packages == ("pytest-asyncio",)


def test_warnings_made_errors_are_ignored_by_two_whole_filters_in_the_test_command():
    """Unseen blinker 1.6.2 (`filterwarnings = ["error"]`): today's pytest-asyncio warns while pytest
    configures. The second `-W` was dropped as a repeated word, and pytest took the filter for a test
    path ("file or directory not found: ignore::PendingDeprecationWarning"): the gold failed."""
    console = ("INTERNALERROR>     warnings.warn(PytestDeprecationWarning(_DEFAULT_FIXTURE_LOOP_SCOPE_UNSET))\n"
               "INTERNALERROR> pytest.PytestDeprecationWarning: The configuration option "
               '"asyncio_default_fixture_loop_scope" is unset.')
    found = _after_tests(_no_results(console), Context(), PLAN.with_(test_args=("-p", "no:cacheprovider")))
    assert found.plan.test_args == ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
                                    "-W", "ignore::PendingDeprecationWarning")
    assert found.plan.with_(test_args=("-W", "ignore::DeprecationWarning")).test_args == found.plan.test_args
    assert plan_test_command("python -m pytest", found.plan).endswith(
        " -W ignore::DeprecationWarning -W ignore::PendingDeprecationWarning")


def test_a_module_whose_name_on_the_index_is_another_project_installs_its_real_distribution():
    """Unseen pyparsing 3.1.0: its diagram tests import `railroad`; PyPI's `railroad` is an unrelated
    project, so installing it left 7 tests failing and one file uncollected in the gold."""
    found = _after_tests(_failing(**{"tests/test_diagram.py": "collection failure\nE   ModuleNotFoundError: "
                                                               "No module named 'railroad'"}))
    assert found.plan.packages == ("railroad-diagrams",)


def test_a_fixture_from_a_missing_plugin_installs_it():
    found = _after_tests(_failing(**{"t.py::test_c": "file t.py, line 1\nE       fixture 'mocker' not found"}))
    assert found.plan.packages == ("pytest-mock",)


def test_a_missing_header_installs_its_debian_package_and_scm_gets_a_version():
    log = ("building 'bzcount' extension\nsrc/bzcount.c:4:10: fatal error: bzlib.h: No such file or directory\n"
           "    4 | #include <bzlib.h>\ncompilation terminated.\nerror: command '/usr/bin/gcc' failed with exit code 1")
    found = diagnose(PLAN, build_error="The command '/bin/sh -c pip install . pytest' returned a non-zero code: 1",
                     build_log=log, baseline=None, reason="", ctx=Context())
    assert found.plan.apt == ("libbz2-dev",) and found.reason.startswith("build failed:")
    assert "apt-get install -y -qq --no-install-recommends libbz2-dev" in render(found.plan, base_image="b", with_ca=False)
    scm = ("LookupError: setuptools-scm was unable to detect version for /testbed.\n\nMake sure you're either "
           "building from a fully intact git repository or PyPI tarballs.")
    found = diagnose(PLAN, build_error="x", build_log=scm, baseline=None, reason="", ctx=Context(version="1.4.0"))
    assert found.plan.env == (("SETUPTOOLS_SCM_PRETEND_VERSION", "1.4.0"),)
    assert "SETUPTOOLS_SCM_PRETEND_VERSION=1.4.0" in render(found.plan, base_image="b", with_ca=False)


def test_a_setup_py_importing_a_build_dependency_prebuilds_it_without_isolation():
    log = 'File "setup.py", line 3, in <module>\n    import numpy\nModuleNotFoundError: No module named \'numpy\''
    found = diagnose(PLAN, build_error="x", build_log=log, baseline=None, reason="", ctx=Context())
    text = render(found.plan, base_image="b", with_ca=False)
    assert "RUN pip install numpy setuptools wheel" in text and "pip install --no-build-isolation . pytest" in text


def test_requirement_files_pip_cannot_install_together_fall_back_to_the_project_and_pytest():
    plan = SetupPlan(install="pip install . -r requirements-tests36.txt -r requirements-tests39.txt pytest")
    log = ("ERROR: Cannot install attrs==22.2.0 and attrs==23.1.0 because these package versions have conflicting "
           "dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/")
    found = diagnose(plan, build_error="x", build_log=log, baseline=None, reason="", ctx=Context())
    assert found.plan.install == "pip install . pytest" and "attrs==22.2.0 and attrs==23.1.0" in found.reason
    assert diagnose(PLAN, build_error="x", build_log=log, baseline=None, reason="", ctx=Context()).plan is None


# Unseen ecdsa 0.18.0's first build (tox deps of every factor), pip's words verbatim.
GMPY2_LOG = """  Created wheel for ecdsa: filename=ecdsa-0.18.0-py2.py3-none-any.whl size=142984
  Building wheel for gmpy2 (pyproject.toml): finished with status 'error'
  error: subprocess-exited-with-error
  × Building wheel for gmpy2 (pyproject.toml) did not run successfully.
      src/gmpy2.c:373:10: fatal error: longintrepr.h: No such file or directory
  ERROR: Failed building wheel for gmpy2"""


def test_a_declared_dependency_that_does_not_build_falls_back_to_the_project_and_pytest():
    plan = SetupPlan(install="pip install . 'py<1.5' 'pytest<3.3' enum34 gmpy2 'hypothesis<3.44' pytest")
    found = diagnose(plan, build_error="x", build_log=GMPY2_LOG, baseline=None, reason="", ctx=Context(dist="ecdsa"))
    assert found.plan.install == "pip install . pytest" and "(gmpy2)" in found.reason
    # the project's own build failing is the header rule's (its C sources need a -dev package)
    own = GMPY2_LOG.replace("gmpy2 (pyproject", "ecdsa (pyproject").replace("for gmpy2", "for ecdsa")
    assert "longintrepr" in diagnose(plan, build_error="x", build_log=own, baseline=None, reason="",
                                     ctx=Context(dist="ecdsa")).change
    # with nothing declared there is nothing to drop
    assert "(gmpy2)" not in diagnose(PLAN, build_error="x", build_log=GMPY2_LOG, baseline=None, reason="",
                                     ctx=Context(dist="ecdsa")).reason


def test_pytest_warns_none_gets_pytest_as_of_the_release():
    """`pytest.warns(None)`, removed in pytest 8: unseen ecdsa 0.18.0 was gold with 4 such tests failing."""
    message = ("TypeError: exceptions must be derived from Warning, not <class 'NoneType'>\n"
               "    def test_new_call_convention(self):\n>       with pytest.warns(None) as warns:")
    ctx = Context(era_pins=lambda names: ("pytest==7.1.2",), newest=lambda name: "9.0.1")
    found = _after_tests(_failing(**{"src/ecdsa/test_der.py::TestEncodeBitstring::test_new_call_convention": message}), ctx)
    assert found.plan.packages == ("pytest==7.1.2",)


def test_a_locale_the_tests_set_installs_every_locale():
    """Unseen natsort 8.4.0: 59 tests error in a fixture that sets en_US.UTF-8."""
    message = ('failed on setup with "locale.Error: unsupported locale setting"\n'
               "    def with_locale_en_us() -> Iterator[None]:")
    found = _after_tests(_failing(**{"tests/test_final_data_transform_factory.py::test_default[0]": message}))
    assert found.plan.apt == ("locales-all",)
    assert "locales-all" in render(found.plan, base_image="local/bookworm-py:base3", with_ca=False)


def test_a_pinned_pytest_older_than_this_python_falls_back_to_the_project_and_pytest():
    """Unseen html5lib 1.1 pins pytest 5, whose assertion rewriting cannot compile on 3.11."""
    console = ('  File "/opt/venv/lib/python3.11/site-packages/_pytest/assertion/rewrite.py", line 330, in _rewrite_test\n'
               '    co = compile(tree, fn, "exec", dont_inherit=True)\nTypeError: required field "lineno" missing from alias')
    plan = SetupPlan(install="pip install . -r requirements-test.txt pytest")
    found = _after_tests(_no_results(console), plan=plan)
    assert found.plan.install == "pip install . pytest" and "extras and requirement files" in found.change
    assert _after_tests(_no_results(console)).plan is None  # nothing declared: nothing to drop


def test_no_change_is_tried_twice_and_an_unknown_failure_stops_the_loop():
    log = "src/x.c:1:10: fatal error: bzlib.h: No such file or directory"
    ctx = Context()
    first = diagnose(PLAN, build_error="x", build_log=log, baseline=None, reason="", ctx=ctx)
    again = diagnose(first.plan, build_error="x", build_log=log, baseline=None, reason="", ctx=ctx)
    assert first.plan is not None and again.plan is None
    assert diagnose(PLAN, build_error="x", build_log="Segmentation fault", baseline=None, reason="",
                    ctx=Context()).plan is None


def test_the_first_plan_renders_the_first_synthesis(tmp_path):
    assert render(PLAN, base_image="b", with_ca=True) == synthesize(base_image="b", install_cmd=PLAN.install, with_ca=True)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "src" / "other").mkdir(parents=True)
    (tmp_path / "src" / "other" / "__init__.py").write_text("")
    for name in ("single.py", "setup.py", "conftest.py"):
        (tmp_path / name).write_text("")
    assert project_modules(tmp_path) == {"pkg", "other", "single"}


def test_a_library_the_linker_or_the_build_script_misses_installs_its_dev_package():
    for log, deb in (("/usr/bin/ld: cannot find -lsnappy: No such file or directory", "libsnappy-dev"),
                     ("The headers or library files could not be found for jpeg,\na required dependency when "
                      "compiling Pillow from source.", "libjpeg-dev"),
                     ("gcc: fatal error: cannot execute 'cc1plus'\nerror: command 'x86_64-linux-gnu-g++' failed: "
                      "No such file or directory", "g++")):
        found = diagnose(PLAN, build_error="x", build_log=log, baseline=None, reason="", ctx=Context())
        assert found.plan is not None and found.plan.apt == (deb,), log


def test_pytest_9_strict_ids_and_the_retired_py_library_are_recognised():
    ctx = Context(newest=lambda name: "9.2.0")
    strict = _failing(**{"tests/test_x.py": "Duplicate parametrization IDs detected: ['a', 'a']"})
    assert _after_tests(strict, ctx).plan.packages == ("pytest<9",)
    old_py = _failing(**{"t.py::test_a": "AttributeError: module 'py' has no attribute 'code'"})
    assert _after_tests(old_py).plan.packages == ("py",)


def test_a_helper_module_the_sdist_left_out_is_reported_never_installed_from_the_index():
    baseline = _failing(**{"test/test_output.py": "E   ModuleNotFoundError: No module named 'common'"})
    found = _after_tests(baseline, Context(dist_exists=lambda name: True))
    assert found.plan is None
    assert found.reason == "0 of 1 tests pass; the sources lack the tests' helper module 'common' (not shipped in the sdist?)"


def test_a_build_that_cannot_reach_the_index_over_tls_says_what_to_set():
    log = ("WARNING: Retrying (Retry(total=0)) after connection broken by 'SSLError(SSLCertVerificationError(1, "
           "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain"
           "'))': /simple/pip/")
    found = diagnose(PLAN, build_error="The command '/bin/sh -c pip install --upgrade pip' returned a non-zero code: 1",
                     build_log=log, baseline=None, reason="", ctx=Context())
    assert found.plan is None and found.reason.endswith("set STUDIO_EXTRA_CA_BUNDLE)")


def test_a_compiled_module_missing_from_the_sources_builds_the_project_in_place():
    baseline = _failing(**{"tests/test_b.py": "E   ModuleNotFoundError: No module named 'bitarray._bitarray'"})
    plan = SetupPlan(install="pip install '.[test]' pytest")
    found = _after_tests(baseline, Context(project_modules={"bitarray"}, native=True), plan)
    assert found.plan.install == "pip install -e '.[test]' pytest" and not found.plan.packages
    assert _after_tests(baseline, Context(project_modules={"bitarray"}), plan).plan is None  # no C sources


def test_native_sources_are_the_projects_own(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helper.c").write_text("int x;")
    assert not has_native_sources(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "speed.pyx").write_text("")
    assert has_native_sources(tmp_path)


def test_tests_found_twice_in_the_sources_and_site_packages_build_the_project_in_place():
    message = ("import file mismatch:\nimported module 'zope.interface.tests.test_x' has this __file__ attribute:\n"
               "  /opt/venv/lib/python3.11/site-packages/zope/interface/tests/test_x.py\nwhich is not the same as "
               "the test file we want to collect:\n  /testbed/src/zope/interface/tests/test_x.py")
    found = _after_tests(_failing(**{"src/zope/interface/tests/test_x.py": message}))
    assert found.plan.install == "pip install -e . pytest" and "in place" in found.change


def test_a_header_the_table_does_not_know_gets_the_dev_package_named_after_it():
    # python-lzo 1.15 in the base image (pip's output, verbatim)
    log = ("lzomodule.c:38:10: fatal error: lzo/lzo1.h: No such file or directory\n"
           "   38 | #include <lzo/lzo1.h>\ncompilation terminated.")
    found = diagnose(PLAN, build_error="x", build_log=log, baseline=None, reason="", ctx=Context())
    assert found.plan.apt == ("^liblzo[0-9.-]*-dev$",)
    # apt-get takes it as a pattern; the shell must not
    assert "--no-install-recommends '^liblzo[0-9.-]*-dev$' &&" in render(found.plan, base_image="b", with_ca=False)
    ld = diagnose(PLAN, build_error="x", build_log="/usr/bin/ld: cannot find -lbrotlienc", baseline=None, reason="",
                  ctx=Context())
    assert ld.plan.apt == ("^libbrotlienc[0-9.-]*-dev$",)
    odd = diagnose(PLAN, build_error="x", build_log="fatal error: $(x).h: No such file or directory", baseline=None,
                   reason="", ctx=Context())
    assert odd.plan is None  # nothing that is not a plain name reaches apt


def test_a_compiled_module_that_does_not_load_here_is_replaced_by_the_releases_wheel():
    # cryptography 3.3.2 built against bookworm's OpenSSL 3 (the baseline's message, verbatim)
    message = ("ImportError: /opt/venv/lib/python3.11/site-packages/cryptography/hazmat/bindings/"
               "_openssl.abi3.so: undefined symbol: FIPS_mode")
    baseline = _failing(**{"tests/test_fernet.py": message})
    ctx = Context(version="3.3.2", dist="cryptography", project_modules={"cryptography"})
    found = _after_tests(baseline, ctx)
    assert found.plan.install == ("pip install . pytest && pip install --force-reinstall --no-deps "
                                  "--only-binary :all: cryptography==3.3.2")
    assert _after_tests(baseline, ctx).plan is None  # tried once
    # a local project has no release to take a wheel of; a system library's own symbol error is not the project's
    assert _after_tests(baseline, Context(version="3.3.2", project_modules={"cryptography"})).plan is None
    other = _failing(t="ImportError: /usr/lib/x86_64-linux-gnu/libfoo.so.1: undefined symbol: bar")
    assert _after_tests(other, ctx).plan is None


def test_a_test_that_takes_the_whole_run_down_is_left_out_by_its_id():
    # python-lzo 1.15: test_lzo_compress_extremely_big allocates 4 GiB in a 2 GiB sandbox
    test = "tests/test_lzo.py::TestBig::test_lzo_compress_extremely_big"
    oom = _no_results(f"the test run was killed (exit 137: out of memory?) while running {test} (for 3 s)")
    found = _after_tests(oom)
    assert found.plan.test_args == ("--deselect", test)
    assert plan_test_command("python -m pytest", found.plan) == f"python -m pytest --deselect {test}"
    hang = _no_results("the test run was killed after its timeout (600 s) while running t.py::test_x[a b] (for 590 s)")
    assert _after_tests(hang).plan.test_args == ("--deselect", "t.py::test_x[a b]")
    # a suite that is slow all through (cryptography 3.3.2 on a loaded machine): no one test to blame
    slow = _no_results("the test run was killed after its timeout (901 s) while running tests/x.py::test_rsa (for 4 s)")
    assert _after_tests(slow).plan is None


def test_pkg_resources_comes_from_a_setuptools_that_still_ships_it():
    # wcwidth 0.2.5's tests import pkg_resources; today's setuptools (82 and later) has none
    baseline = _failing(**{"tests/test_core.py": "E   ModuleNotFoundError: No module named 'pkg_resources'"})
    found = _after_tests(baseline)
    assert found.plan.packages == ("setuptools<82",)
    assert "pip install 'setuptools<82'" in render(found.plan, base_image="b", with_ca=False)
