"""`studio llm serve|status|stop|prepare`: the managed local model from the command line."""

from __future__ import annotations

import signal
from typing import Any

from inversion.engine.runtime.llm.localmodel import MODELS
from inversion.services import llm as llm_services
from studio.lib.cli import CliResult


def register(groups: Any) -> None:
    group = groups.add_parser("llm", help="the managed local model (llama.cpp)")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")

    serve = verbs.add_parser("serve", help="assemble the model once and serve it on loopback")
    serve.add_argument("--model", required=True, choices=sorted(MODELS))
    serve.add_argument("--port", type=int, default=None, help="default: STUDIO_LOCAL_LLM_PORT")
    serve.add_argument("--detach", action="store_true", help="return once healthy; the server keeps running")
    serve.set_defaults(handler=_serve, needs_db=False)

    prepare = verbs.add_parser("prepare", help="download, assemble and verify the model file only")
    prepare.add_argument("--model", required=True, choices=sorted(MODELS))
    prepare.set_defaults(handler=_prepare, needs_db=False)

    status = verbs.add_parser("status", help="configured model, model file, server health")
    status.set_defaults(handler=_status, needs_db=False)

    stop = verbs.add_parser("stop", help="stop the detached server")
    stop.set_defaults(handler=_stop, needs_db=False)


def _serve(options: dict, stdout: Any) -> CliResult:
    def say(line: str) -> None:
        stdout.write(line)
        stdout.flush()

    server = llm_services.local_model_serve(
        model=options["model"], port=options["port"], detach=options["detach"], log=say
    )
    data = {"model": options["model"], "base_url": server.base_url, "pid": server.process.pid}
    if options["detach"]:
        return CliResult(
            data=data, text=f"serving {options['model']} at {server.base_url} (pid {server.process.pid})"
        )
    say(f"serving {options['model']} at {server.base_url}; Ctrl-C stops it")
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        code = server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        code = 0
    return CliResult(
        data={**data, "exit_code": code}, text="server stopped", exit_code=code if code > 0 else 0
    )


def _prepare(options: dict, stdout: Any) -> CliResult:
    path = llm_services.local_model_prepare(model=options["model"], log=stdout.write)
    return CliResult(data={"model": options["model"], "path": str(path)}, text=f"ready: {path}")


def _status(options: dict, stdout: Any) -> CliResult:
    status = llm_services.local_model_status()
    if not status["configured"]:
        text = "no local model configured or running (set STUDIO_LOCAL_LLM or run `studio llm serve`)"
    else:
        health = {True: "healthy", False: "not answering", None: "unknown"}[status["ok"]]
        text = "\n".join(
            [
                f"model: {status['model']} ({'file ready' if status['model_ready'] else 'file not assembled'})",
                f"endpoint: {status['base_url'] or '-'} {health}",
                f"runtime installed: {status['runtime_installed']}",
            ]
        )
    return CliResult(data=status, text=text, exit_code=0 if status["ok"] is not False else 1)


def _stop(options: dict, stdout: Any) -> CliResult:
    stopped = llm_services.local_model_stop()
    return CliResult(data={"stopped": stopped}, text="stopped" if stopped else "no detached server running")
