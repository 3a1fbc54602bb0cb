"""The studio's side of the model: a ChatClient from settings (+ per-episode overrides), and the
managed local model (assemble, serve, status) with its state file in the data dir."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from inversion.engine.runtime.llm import localmodel
from inversion.engine.runtime.llm.client import ChatClient
from studio.lib.exceptions import ApplicationError

OVERRIDE_KEYS = ("base_url", "api_key", "model", "tool_choice_mode", "timeout", "max_tokens", "outage_wait")


def llm_settings(overrides: dict | None = None) -> dict[str, Any]:
    """The effective endpoint settings; `overrides` (e.g. an episode's) win over non-empty values."""
    values: dict[str, Any] = {
        "base_url": settings.OPENAI_BASE_URL,
        "api_key": settings.OPENAI_API_KEY,
        "model": settings.STUDIO_LLM_MODEL,
        "tool_choice_mode": settings.STUDIO_LLM_TOOL_CHOICE,
        "timeout": settings.STUDIO_LLM_TIMEOUT,
        "max_tokens": settings.STUDIO_LLM_MAX_TOKENS,
        "outage_wait": settings.STUDIO_LLM_OUTAGE_WAIT,
    }
    for key, value in (overrides or {}).items():
        if key in OVERRIDE_KEYS and value not in (None, ""):
            values[key] = value
    return values


def client_from_settings(overrides: dict | None = None) -> ChatClient:
    """A ChatClient for the configured (or overridden) endpoint; ApplicationError when none is set."""
    values = llm_settings(overrides)
    if not values["base_url"] and not values["api_key"]:
        raise ApplicationError("no LLM endpoint configured (set OPENAI_BASE_URL or STUDIO_LOCAL_LLM)")
    if not values["model"]:
        raise ApplicationError("no LLM model configured (set STUDIO_LLM_MODEL)")
    try:
        return ChatClient(
            base_url=values["base_url"], api_key=values["api_key"], model=values["model"],
            tool_choice_mode=values["tool_choice_mode"], timeout=float(values["timeout"]),
            max_tokens=int(values["max_tokens"]), outage_wait=float(values["outage_wait"]),
        )  # fmt: skip
    except ValueError as exc:
        raise ApplicationError(
            f"bad LLM settings: {exc}", {"settings": {**values, "api_key": "***"}}
        ) from exc


def client_or_none(overrides: dict | None = None) -> ChatClient | None:
    """The configured client, or None when no endpoint/model is set (callers fall back offline)."""
    values = llm_settings(overrides)
    if not (values["base_url"] or values["api_key"]) or not values["model"]:
        return None
    return client_from_settings(overrides)


def local_model_prepare(*, model: str, download: bool = True, log: Callable[[str], None] = print) -> Path:
    """Assemble and verify the model's GGUF once (instant when already done)."""
    try:
        spec = localmodel.model_spec(model)
        return localmodel.ensure_model(spec, settings.STUDIO_MODEL_CACHE, download=download, log=log)
    except localmodel.LocalModelError as exc:
        raise ApplicationError(str(exc)) from exc


def local_model_serve(
    *, model: str, port: int | None = None, detach: bool = False, log: Callable[[str], None] = print
) -> localmodel.LocalServer:
    """Start the llama.cpp server for `model` on loopback and wait for health.

    Detached servers outlive this process; their pid, port and model go to a state file that
    `local_model_status` and `local_model_stop` read.
    """
    if not localmodel.runtime_available(sys.executable):
        raise ApplicationError("llama-cpp-python is not installed; run scripts/setup-llm (extra 'llm')")
    path = local_model_prepare(model=model, log=log)
    port = port or settings.STUDIO_LOCAL_LLM_PORT
    if localmodel.server_health(f"http://127.0.0.1:{port}/v1", timeout=1)["ok"]:
        raise ApplicationError(f"something already answers on port {port}; stop it or pick --port")
    server = localmodel.LocalServer(
        path,
        alias=model,
        port=port,
        python=sys.executable,
        log_path=_log_path(),
        n_threads=settings.STUDIO_LLM_THREADS,
        n_threads_batch=settings.STUDIO_LLM_BATCH_THREADS,
    )
    log(f"starting llama.cpp server for {model} on {server.base_url} (log: {_log_path()})")
    try:
        server.start()
    except localmodel.LocalModelError as exc:
        raise ApplicationError(str(exc)) from exc
    if detach:
        state = {"pid": server.process.pid, "port": port, "model": model, "base_url": server.base_url}
        _state_path().write_text(json.dumps({**state, "started": time.time()}))
    return server


def local_model_stop() -> bool:
    """Stop the detached server recorded in the state file; True when one was running."""
    state = _read_state()
    _state_path().unlink(missing_ok=True)
    return bool(state) and localmodel.stop_pid(int(state["pid"]))


def local_model_status() -> dict[str, Any]:
    """Which local model is configured/running and whether its endpoint answers (never raises)."""
    state = _read_state()
    model = state.get("model") or settings.STUDIO_LOCAL_LLM
    base_url = state.get("base_url") or (settings.OPENAI_BASE_URL if settings.STUDIO_LOCAL_LLM else "")
    spec = localmodel.MODELS.get(model) if model else None
    model_file = settings.STUDIO_MODEL_CACHE / spec.filename if spec else None
    health = (
        localmodel.server_health(base_url, timeout=1)
        if base_url
        else {"ok": None, "models": [], "detail": ""}
    )
    return {
        "configured": bool(model),
        "model": model,
        "base_url": base_url,
        "pid": state.get("pid"),
        "model_file": str(model_file) if model_file else "",
        "model_ready": bool(spec and localmodel.is_verified(model_file, spec.sha256)),
        "runtime_installed": localmodel.runtime_available(sys.executable) if model else None,
        "ok": health["ok"],
        "served_models": health["models"],
        "detail": health["detail"],
    }


def _state_path() -> Path:
    return Path(settings.DATA_DIR) / "llm-server.json"


def _log_path() -> Path:
    return Path(settings.DATA_DIR) / "llm-server.log"


def _read_state() -> dict[str, Any]:
    try:
        state = json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}
    pid = state.get("pid")
    if not isinstance(pid, int) or not os.path.exists(f"/proc/{pid}"):
        return {}
    return state
