"""The Docker helper against the real engine: run, bound, truncate, diff, sweep."""

import subprocess

import pytest

from inversion.engine.runtime.sandbox import Sandbox
from tests.support.paths import ROOT

pytestmark = pytest.mark.docker


def test_engine_script_is_idempotent(docker_client):
    result = subprocess.run([str(ROOT / "scripts/docker-engine")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "engine answers" in result.stderr


def test_python_runs_in_base_image(docker_client, base_image):
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        result = box.exec("python3 -c 'print(1)'")
        assert result.exit_code == 0
        assert result.output.strip() == "1"
        inspect = docker_client.api.inspect_container(box.id)
        assert inspect["HostConfig"]["NetworkMode"] == "none"
        assert inspect["HostConfig"]["PidsLimit"] == 1024
        assert inspect["Config"]["Labels"]["studio.kind"] == "test"


def test_the_verifiers_toolbox_is_first_on_path_read_only_and_removed_with_the_sandbox(docker_client, base_image):
    """The base image's static bash and busybox (`runtime.trust`) come from a named read-only volume
    the image fills, as exports mount them: the container's root cannot change them, and the volume
    goes with the sandbox."""
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        volume = box.trust_volume
        assert volume and docker_client.volumes.get(volume)
        assert box.exec("command -v bash").output.strip() == "/studio-trust/bin/bash"
        assert "statically linked" in box.exec("file -L /studio-trust/bin/bash /studio-trust/tools/sha256sum").output
        wrote = box.exec("echo x > /studio-trust/bin/bash")
        assert not wrote.ok and "Read-only file system" in wrote.output
        assert box.exec("bash -c 'echo $BASH'", shell="bash").output.strip() == "/studio-trust/bin/bash"
    assert volume not in {v.name for v in docker_client.volumes.list()}


def test_timeout_is_enforced_by_the_studio(docker_client, base_image):
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        result = box.exec("echo start; sleep 30; echo never", timeout=1.5)
        assert result.timed_out and result.exit_code is None
        assert "start" in result.output and "never" not in result.output
        assert result.seconds < 10
        assert box.exec("echo alive").output.strip() == "alive"


def test_a_timeout_kills_the_command_inside_the_container_never_a_host_pid(docker_client, base_image, monkeypatch):
    """Before: `os.kill(<the exec's host pid>)`, which on a remote engine is not ours and on this host
    may name an unrelated process. Now the command and its children die inside the container."""
    import os

    monkeypatch.setattr(os, "kill", lambda *a: pytest.fail("a host process was signalled"))
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        result = box.exec("sleep 300 & sleep 301; echo never", timeout=1.5)
        assert result.timed_out and "never" not in result.output
        left = box.exec("for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done")
        assert "sleep 300" not in left.output and "sleep 301" not in left.output


def test_a_timeout_stops_the_shell_even_when_its_child_is_found_first(docker_client, base_image):
    """CI saw `sleep 30; echo never` print "never": the killer walks /proc in name order, so a child
    with pid 1001 was killed before its shell with pid 998, and the shell ran on. Here the pids are
    pushed to that order and ~100 unrelated processes sit between them in the walk."""
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        box.exec("for i in $(seq 100); do sleep 600 & done; "
                 "while [ $(cat /proc/sys/kernel/ns_last_pid) -lt 990 ]; do /bin/true; done", timeout=120)
        result = box.exec("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true; done; "
                          "sleep 30 & echo \"pids $$ $!\"; wait; echo never", timeout=3)
        assert result.timed_out and "never" not in result.output, result.output
        shell, child = result.output.split("pids ", 1)[1].split()[:2]
        assert str(child) < str(shell), "the pids did not land in the order this test needs"


def test_output_is_capped_visibly(docker_client, base_image):
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        result = box.exec("head -c 200000 /dev/zero | tr '\\0' x; echo END", max_output=2000)
        assert result.truncated_bytes > 190000
        assert "bytes of output truncated by the studio" in result.output
        assert result.output.rstrip().endswith("END")


def test_diff_sees_changes_only_after_writes(docker_client, base_image):
    with Sandbox(docker_client, base_image, kind="test", instance="pytest") as box:
        before = box.diff()
        box.exec("ls /usr/lib >/dev/null")
        assert box.diff() == before
        box.exec("echo x > /etc/studio-probe")
        assert ("/etc/studio-probe", 1) in box.diff()


@pytest.mark.django_db
def test_the_sweep_removes_a_dead_workers_container_and_validation_image_but_keeps_golds(docker_client, base_image):
    """A worker that died mid-validation leaves a labelled container and image behind; a gold stays."""
    import io

    from inversion.engine.runtime import labels as lbl
    from inversion.services.sweep import sweep_dead_containers

    dead = "vm-gone:4242:1"  # another host's worker with no lease at all: alive as far as we know
    built = {}
    for kind in ("validate", "gold"):
        dockerfile = f"FROM {base_image}\nRUN echo {kind} > /studio-{kind}\n"
        image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=f"studio-sweep/{kind}:1",
                                              rm=True, network_mode="none",
                                              labels=lbl.labels(kind, "episode:1", "pytest-sweep", dead))  # fmt: skip
        built[kind] = image.id
    box = Sandbox(docker_client, built["validate"], kind="validate", instance="pytest-sweep", worker=dead)
    box.start()
    try:
        sweep_dead_containers()
        assert docker_client.containers.list(all=True, filters={"id": box.id})  # no lease: never guessed dead
        from django.utils import timezone

        from inversion.models import Worker

        Worker.objects.create(key=dead, hostname="vm-gone", pid=4242, kind="celery", engine="x",
                              heartbeat_at=timezone.now() - timezone.timedelta(minutes=5))
        assert sweep_dead_containers() >= 2  # its lease ran out: the container and the validation image
        assert not docker_client.containers.list(all=True, filters={"id": box.id})
        assert not docker_client.images.list(filters={"reference": "studio-sweep/validate"})
        assert docker_client.images.get("studio-sweep/gold:1").id == built["gold"]
    finally:
        box.remove()
        docker_client.images.remove("studio-sweep/gold:1", force=True)


@pytest.mark.docker
@pytest.mark.django_db
def test_the_sweep_removes_its_own_stopped_strays_and_never_another_instances(docker_client, base_image, settings):
    """Stopped containers with no worker label: this instance's are strays; another studio's
    (a bench beside a test run) are left to it, it may still be reading them."""
    from inversion.services.sweep import sweep_dead_containers

    boxes = {}
    for name in (settings.STUDIO_INSTANCE, "pytest-another-studio"):
        box = Sandbox(docker_client, base_image, kind="test", instance=name)
        box.start()
        box.container.stop(timeout=1)
        boxes[name] = box
    try:
        sweep_dead_containers()
        assert not docker_client.containers.list(all=True, filters={"id": boxes[settings.STUDIO_INSTANCE].id})
        assert docker_client.containers.list(all=True, filters={"id": boxes["pytest-another-studio"].id})
    finally:
        for box in boxes.values():
            box.remove()
