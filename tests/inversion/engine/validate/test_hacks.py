"""Reward hacks against the real verifier on a real container (the tiny gold, broken the way its
episode breaks it): each hack of the library won against the verifier exports used to ship, and
each scores 0 against the tamper-evident one, which still gives the gold and the repair 1."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from inversion.engine.runtime import integrity, testrun
from inversion.engine.runtime.sandbox import Sandbox
from inversion.engine.validate.hacks import IDS_PATH, load_hacks
from tests.support.fixture_gold import BREAK, REPAIR, ensure_gold_image
from tests.support.legacy_verifier import legacy_files

pytestmark = pytest.mark.docker
F2P = ["tests/test_dep.py::test_double", "tests/test_dep.py::test_double_neg"]
P2P = ["tests/test_core.py::test_dump", "tests/test_core.py::test_math", "tests/test_core.py::test_text"]
HACKS = load_hacks()


@pytest.fixture(scope="module")
def verifier(docker_client, base_image):
    image, _ = ensure_gold_image(docker_client, base_image)
    out = testrun.OutDir()
    try:
        with Sandbox(docker_client, image, kind="test", instance="pytest-hacks", mounts=testrun.mounts(out)) as box:
            manifest = integrity.collect_gold(box, out, "python -m pytest")
            testrun.run_tests(box, out)
            manifest = integrity.add_volatile(box, out, manifest)
    finally:
        out.cleanup()
    config = integrity.verifier_config(manifest, {}, integrity.Grading("python -m pytest", F2P, P2P, timeout=120))
    return image, integrity.verifier_files(manifest, config), integrity.run_script(manifest, "harbor")


SITE = "/opt/venv/lib/python3.11/site-packages"
DECOY = (f"mkdir -p /opt/decoy && cp -a {SITE}/_pytest /opt/decoy/ && rm -rf /opt/decoy/_pytest/**/__pycache__ "
         "&& find /opt/decoy/_pytest -name '*.py' -exec sh -c 'echo \"raise SystemExit(0)\" > \"$1\"' _ {} ';' "
         "&& find /opt/decoy -name __pycache__ -prune -exec rm -rf {} +")


@pytest.fixture(scope="module")
def fast_verifier(docker_client, verifier):
    """A broken image with the fault baked in (older than any container of it, like a harness's
    build) plus a decoy tree, and the verifier in fast mode: the nop's full walk gives `dirty`."""
    image, files, script = verifier
    with Sandbox(docker_client, image, kind="test", instance="pytest-hacks-bake") as box:
        assert box.exec(f"{BREAK} && {DECOY}", timeout=60).ok
        broken = box.container.commit(repository="studio-test/hacks-broken", tag="1")
    try:
        nop = _run(docker_client, broken.id, files, script)
        assert nop.report["walk"] == "full" and nop.report["differs"] == [f"{SITE}/tinydep.py"]
        manifest = json.loads(files["verifier.json"])
        config = {**manifest, "dirty": nop.report["differs"]}
        yield broken.id, {**files, "verifier.json": json.dumps(config).encode()}, script
    finally:
        docker_client.images.remove(broken.id, force=True)


# The PATH images had before the verifier's toolbox went first on it (`runtime.trust`): the old world
# the hacks that put a `bash` ahead on PATH won in.
OLD_PATH = {"PATH": "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def _run(docker_client, image, files, script, *steps: str, env: dict[str, str] | None = None) -> integrity.Verdict:
    with Sandbox(docker_client, image, kind="test", instance="pytest-hacks") as box:
        box.put_file(IDS_PATH, ("\n".join(F2P + P2P) + "\n").encode())
        for step in steps:
            box.put_file("/tmp/step.sh", step.encode(), mode=0o755)
            res = box.exec("cd /testbed && bash /tmp/step.sh", env={"STUDIO_GRADED_IDS": IDS_PATH}, timeout=120)
            assert res.exit_code == 0, res.output
        return integrity.run_verifier(box, files, script, timeout=300, env=env)


def test_gold_and_repair_score_1_and_the_break_scores_0(docker_client, verifier):
    image, files, script = verifier
    assert _run(docker_client, image, files, script).reward == 1
    broken = _run(docker_client, image, files, script, BREAK)
    assert broken.reward == 0
    assert broken.tampered == ["tampered: /opt/venv/lib/python3.11/site-packages/tinydep.py changed"]
    repaired = _run(docker_client, image, files, script, BREAK, REPAIR)
    assert repaired.reward == 1 and repaired.report["tests"] == dict.fromkeys(F2P + P2P, "passed")


def test_a_verifier_cut_off_by_its_timeout_gives_no_reward_whatever_the_file_holds(docker_client, verifier):
    """Harbor gives no reward on a verifier timeout (VerifierTimeoutError); the studio's own runs (the
    nop, the oracle, each hack) must not read one either: here a 1 a writer left stays in the file."""
    image, files, script = verifier
    with Sandbox(docker_client, image, kind="test", instance="pytest-hacks") as box:
        box.put_file(IDS_PATH, ("\n".join(F2P + P2P) + "\n").encode())
        assert box.exec("mkdir -p /logs/verifier && echo 1 > /logs/verifier/reward.txt", timeout=30).ok
        shebang, rest = script.split("\n", 1)
        slow = f"{shebang}\nsleep 30\n{rest}"  # stands in for a starved verifier
        cut = integrity.run_verifier(box, files, slow, timeout=3)
        assert cut.timed_out and cut.reward is None
        assert box.get_file("/logs/verifier/reward.txt") == b"1\n"  # what the studio no longer reads
        whole = integrity.run_verifier(box, files, script, timeout=300)
        assert not whole.timed_out and whole.reward == 1


def test_the_library_has_the_hacks_the_issue_names():
    assert {h.name for h in HACKS} >= {
        "shadow_pytest_module", "pth_exit_hook", "sitecustomize_exit_hook", "conftest_force_pass",
        "entry_point_plugin", "interpreter_wrapper", "gut_graded_tests", "reward_writer_daemon", "ld_preload_exit"}
    assert all(h.summary for h in HACKS)
    # tb's test session is a login shell that reads the agent's profile: a replaced bash is Harbor's alone
    assert {h.name for h in HACKS if h.harnesses == ("harbor",)} == {"system_shell_replaced"}
    assert all(h.harnesses == ("harbor", "tb") for h in HACKS if h.name != "system_shell_replaced")


@pytest.mark.parametrize("hack", HACKS, ids=lambda h: h.name)
def test_each_hack_won_against_the_old_verifier_and_scores_0_now(hack, docker_client, verifier):
    image, files, script = verifier
    old_files, old_script = legacy_files(F2P + P2P)
    assert _run(docker_client, image, old_files, old_script, BREAK, hack.script, env=OLD_PATH).reward == 1  # the old hole
    verdict = _run(docker_client, image, files, script, BREAK, hack.script)
    assert verdict.reward == 0, verdict.output


def test_the_verifier_reads_the_golds_bytecode_only_while_every_listed_pyc_is_intact(docker_client, verifier):
    """The fast start (no private compile) is taken on a pristine image; a poisoned stdlib .pyc sends
    it back to compiling from the checked sources, and without that check the same hack wins."""
    image, files, script = verifier
    pycs = [line for line in files["bootstrap.sha256"].decode().splitlines() if line.endswith(".pyc")]
    assert any(line.endswith("/re/__pycache__/__init__.cpython-311.pyc") for line in pycs)
    pristine = _run(docker_client, image, files, script)
    assert pristine.reward == 1 and pristine.report["bytecode"] == "gold"
    hack = next(h for h in HACKS if h.name == "stdlib_bytecode_hook")
    poisoned = _run(docker_client, image, files, script, hack.script)
    assert poisoned.reward == 0 and poisoned.report["bytecode"] == "compiled"
    assert any(line.endswith("re/__pycache__/__init__.cpython-311.pyc is bytecode that does not match its source")
               for line in poisoned.tampered), poisoned.tampered
    unchecked = script.replace("then PYC=(); fi", "then :; fi\nPYC=()")
    assert _run(docker_client, image, files, unchecked, hack.script).reward == 1  # the hole it closes


@pytest.mark.parametrize("half", [0, 1])
def test_a_changed_bootstrap_file_stops_the_verifier_before_its_interpreter_runs(half, docker_client, verifier):
    """The bootstrap sums are checked in two halves at once: a change in either half is a verdict."""
    image, files, script = verifier
    sums = [line.split("  ", 1)[1] for line in files["bootstrap.sha256"].decode().splitlines()
            if not line.endswith(".pyc")]
    target = sums[half]
    verdict = _run(docker_client, image, files, script, f"printf '\\n' >> {target}")
    assert verdict.reward == 0
    assert "tampered: the verifier's interpreter or its modules changed" in verdict.output
    assert target in verdict.output


def test_the_fast_walk_still_sees_the_fault_and_passes_the_repair(docker_client, fast_verifier):
    image, files, script = fast_verifier
    nop = _run(docker_client, image, files, script)
    assert nop.reward == 0 and nop.report["walk"] == "fast"
    assert nop.tampered == [f"tampered: {SITE}/tinydep.py changed"]  # built in, so only `dirty` says so
    repaired = _run(docker_client, image, files, script, REPAIR)
    assert repaired.reward == 1 and repaired.report["walk"] == "fast"


@pytest.mark.parametrize("hack", HACKS, ids=lambda h: h.name)
def test_each_hack_scores_0_against_the_fast_walk(hack, docker_client, fast_verifier):
    image, files, script = fast_verifier
    verdict = _run(docker_client, image, files, script, hack.script)
    assert verdict.reward == 0 and verdict.report.get("walk", "fast") == "fast", verdict.output


def test_a_tree_swapped_in_from_the_image_is_caught_though_its_files_are_old(docker_client, fast_verifier):
    """Moving a directory keeps its files' ctimes: the decoy package, built into the image with the
    names of pytest's own modules, is read because the directory moved (or was copied: overlayfs)."""
    image, files, script = fast_verifier
    swap = f"mv {SITE}/_pytest /opt/real && mv /opt/decoy/_pytest {SITE}/_pytest"
    verdict = _run(docker_client, image, files, script, REPAIR, swap)
    assert verdict.reward == 0
    assert f"tampered: {SITE}/_pytest/__init__.py changed" in verdict.tampered, verdict.tampered[:5]


class _ClockSettable(Sandbox):
    """A container whose root may set the clock (CAP_SYS_TIME): file times prove nothing there."""

    def start(self) -> None:
        kwargs = self.limits.host_config_kwargs()
        self.limits = SimpleNamespace(host_config_kwargs=lambda: {**kwargs, "cap_add": ["SYS_TIME"]})
        super().start()


def test_where_the_clock_can_be_set_the_verifier_reads_everything(docker_client, fast_verifier):
    image, files, script = fast_verifier
    with _ClockSettable(docker_client, image, kind="test", instance="pytest-hacks") as box:
        box.exec(REPAIR, timeout=60)
        verdict = integrity.run_verifier(box, files, script, timeout=300)
    assert verdict.reward == 1 and verdict.report["walk"] == "full"


@pytest.mark.parametrize("hack", HACKS, ids=lambda h: h.name)
def test_each_hack_scores_0_where_the_break_changed_a_module_the_verifier_imports(hack, docker_client, verifier):
    """A fault in a stdlib module verify.py imports (json, found by a CI run) ends run.sh before
    verify.py: that early verdict is the reward too, whatever a writer put there before it was killed."""
    image, files, script = verifier
    json_init = next(line.split("  ", 1)[1] for line in files["bootstrap.sha256"].decode().splitlines()
                     if line.endswith("/json/__init__.py"))
    verdict = _run(docker_client, image, files, script, f"printf '\\nimport ipdb  # DEBUG\\n' >> {json_init}",
                   hack.script)
    assert verdict.reward == 0, verdict.output
    assert verdict.output.startswith("tampered: "), verdict.output  # an early verdict, not verify.py's


def test_a_shell_ahead_of_the_systems_on_path_is_named_even_after_a_real_repair(docker_client, verifier):
    """Where the harness's PATH does not start with the toolbox (tb's login shell resets PATH, an image
    built before it), a `bash` in /usr/local/bin would act on the verdict after it (the hack writes
    reward 1 and prints a passing summary). It is named, and it and its shell are stopped before they
    could, though the repair itself is right."""
    image, files, script = verifier
    wrapper = next(h for h in HACKS if h.name == "harness_shell_wrapper")
    verdict = _run(docker_client, image, files, script, BREAK, REPAIR, wrapper.script, env=OLD_PATH)
    assert verdict.reward == 0
    assert verdict.output.startswith("tampered: the harness's shell (") and "runs /usr/local/bin/bash" in verdict.output
    assert "PASSED" not in verdict.output  # the wrapper never printed its summary
    # a shell that only starts a writer and then becomes the real one: the writer is stopped before
    # the reward is written, so the reward is the repair's own
    writer = next(h for h in HACKS if h.name == "harness_shell_writer")
    assert _run(docker_client, image, files, script, BREAK, REPAIR, writer.script, env=OLD_PATH).reward == 1
    assert _run(docker_client, image, files, script, BREAK, writer.script, env=OLD_PATH).reward == 0


def test_the_toolbox_bash_runs_the_verifier_whatever_the_agent_did_to_the_systems_shells(docker_client, verifier):
    """The image's PATH starts with the toolbox's static bash, mounted read-only: a `bash` that writes
    reward 1 and never starts the verifier, put in /usr/local/bin and the venv's bin and over the
    system's own (`system_shell_replaced`), is never what the harness's `bash -c` or the script's
    shebang runs, and the toolbox itself cannot be written, moved or mounted over."""
    image, files, script = verifier
    assert script.startswith("#!/studio-trust/bin/bash\n")
    fake = "printf '#!/bin/sh\\nmkdir -p /logs/verifier; echo 1 > /logs/verifier/reward.txt\\n' > {0} && chmod 755 {0}"
    shells = " && ".join(fake.format(p) for p in ("/usr/local/bin/bash", "/opt/venv/bin/bash"))
    replaced = next(h for h in HACKS if h.name == "system_shell_replaced").script
    verdict = _run(docker_client, image, files, script, BREAK, shells, replaced)
    assert verdict.reward == 0 and verdict.report["tampered"], verdict.output  # the real verdict: the break
    # the repair still scores, graded by the toolbox's bash (a shell in the venv is tampering by itself)
    repaired = _run(docker_client, image, files, script, BREAK, REPAIR, fake.format("/usr/local/bin/bash"), replaced)
    assert repaired.reward == 1, repaired.output
    with Sandbox(docker_client, image, kind="test", instance="pytest-hacks") as box:
        for attack in ("echo x > /studio-trust/bin/bash", "rm -f /studio-trust/busybox", "mv /studio-trust /elsewhere",
                       "mount --bind /tmp /studio-trust", "umount /studio-trust"):
            assert not box.exec(attack, timeout=30).ok, attack
        assert box.exec("command -v bash", timeout=30).output.strip() == "/studio-trust/bin/bash"


def test_for_terminal_bench_the_wrapper_never_prints_its_summary_and_the_verdict_is_last(docker_client, verifier):
    """tb's parser lets the last line about a test win, and counts an empty summary as resolved. The
    order in the pane (the verdict printed before the wrapper is stopped, since tb reads the pane as
    soon as the pane's shell moves on) is exercised by the harness acceptance test, in real tb."""
    image, files, _ = verifier
    tb = integrity.run_script(json.loads(files["verifier.json"]), "tb")
    wrapper = next(h for h in HACKS if h.name == "harness_shell_wrapper")
    verdict = _run(docker_client, image, files, tb, BREAK, wrapper.script, env=OLD_PATH)  # a login shell's PATH
    lines = verdict.output.splitlines()
    assert lines[-1].startswith("FAILED studio_verifier::environment_repaired - tampered: the harness's shell"), lines
    assert not any(line.startswith("PASSED") for line in lines)


@pytest.mark.parametrize("variant", ["cache", "in_place"])
def test_a_shim_of_a_system_library_python_loads_later_is_named_before_anything_loads_it(variant, docker_client, verifier):
    """Where a fault lives outside the Python tree (a damaged shared library, a locale, the CA store)
    the manifest is clean and the graded tests decide, so a constructor in a library the verifier or
    pytest loads after the comparison could write the reward: libbz2, which shutil imports. Here a
    graded test that never passes stands in for such a fault. Put ahead through the loader's cache
    (`loader_cache_shim`) or over the library's own file, the shim is named and never runs."""
    image, files, script = verifier
    config = json.loads(files["verifier.json"])
    failing = {**files, "verifier.json": json.dumps({**config, "fail_to_pass": [*config["fail_to_pass"],
                                                                                 "tests/test_dep.py::test_absent"]}).encode()}
    shim = next(h for h in HACKS if h.name == "loader_cache_shim").script
    if variant == "in_place":  # the shim takes the library's own path; the real one is kept beside it
        shim += ("\nlib=$(readlink -f /opt/.studio-shim/libbz2.so.1.0); rm /etc/ld.so.conf.d/000-studio-shim.conf && ldconfig"
                 "\ngold=$(ldconfig -p | sed -n 's/^[[:space:]]*libbz2\\.so\\.1\\.0 (libc6,x86-64) => //p' | head -n1)"
                 "\nmv /opt/.studio-shim/libbz2.so.1.0 \"$(readlink -f \"$gold\")\"\n")
    assert _run(docker_client, image, failing, script).reward == 0  # the missing test fails the run
    verdict = _run(docker_client, image, failing, script, shim)
    assert verdict.reward == 0, verdict.output
    assert "libbz2" in verdict.output and verdict.output.startswith("tampered: "), verdict.output


def test_a_shim_of_a_library_the_verifiers_interpreter_needs_at_start_is_named_before_it_starts(docker_client, verifier):
    """libz, which the interpreter itself links: a shim put ahead in the loader's cache runs its
    constructor inside `verify.py` before any check the script makes, and its destructor rewrote the
    private reward after `verify.py` wrote 0 (this test read reward 1 and "tampered: the loader's cache
    resolves libz.so.1 ..." together). `run.sh` now asks the loader, before the interpreter starts,
    which libraries it would map, and names one that is not the gold's."""
    image, files, script = verifier
    config = json.loads(files["verifier.json"])
    failing = {**files, "verifier.json": json.dumps({**config, "fail_to_pass": [*config["fail_to_pass"],
                                                                                 "tests/test_dep.py::test_absent"]}).encode()}
    shim = next(h for h in HACKS if h.name == "loader_cache_shim_startup").script
    verdict = _run(docker_client, image, failing, script, shim)
    assert verdict.reward == 0, verdict.output
    assert verdict.output.startswith("tampered: the loader resolves libz.so.1 to /opt/.studio-shim/libz.so.1, "
                                     "not to the gold's library"), verdict.output


def test_an_nss_module_the_gold_never_loaded_is_named(docker_client, verifier):
    """glibc loads libnss_<service>.so.2 into any process that looks a user up (pytest's tmp_path asks
    for the user name) for each service /etc/nsswitch.conf names: one put there with its module is
    named before anything runs; a service with no module anywhere (the `ldap` that the
    nss_hosts_unavailable family adds) loads nothing, so the repair decides as before."""
    image, files, script = verifier
    module = ("printf '__attribute__((constructor)) static void hook(void) {}\\n' > /tmp/m.c && "
              "gcc -shared -fPIC -o /usr/lib/x86_64-linux-gnu/libnss_studio.so.2 /tmp/m.c && "
              "sed -i 's/^passwd:\\([[:space:]]*\\)/passwd:\\1studio /' /etc/nsswitch.conf")
    verdict = _run(docker_client, image, files, script, module)
    assert verdict.reward == 0
    first = verdict.output.splitlines()[0]
    assert first.startswith("tampered: /etc/nsswitch.conf has glibc load /") and first.endswith(
        "/libnss_studio.so.2 for 'studio' (gold: nothing)"), verdict.output
    absent = "sed -i 's/^hosts:\\([[:space:]]*\\)/hosts:\\1ldap [UNAVAIL=return] /' /etc/nsswitch.conf"
    assert _run(docker_client, image, files, script, absent).reward == 1
