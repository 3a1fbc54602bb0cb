"""A scriptable fake Chat Completions server on loopback, for tests of everything that talks to a model.

It is a real HTTP server (a thread, random port on 127.0.0.1) speaking the OpenAI protocol, so
the real `openai` SDK and `ChatClient` are exercised end to end. Use the `chat_server` fixture
(tests/conftest.py) or `with ChatServer() as server: ...`.

Script the replies, in order (each POST /v1/chat/completions consumes one):

    server.tool_call("run_command", {"command": "ls"})          # one proper tool call
    server.tool_call("run_command", '{"command": "ls",')        # a str is sent as raw (malformed) arguments
    server.tool_calls([("run_tests", {}), ("finish", {...})])  # several tool calls in one reply
    server.text("plain prose")                                 # content only, no tool call
    server.text('```json\\n{"command": "ls"}\\n```')           # fenced JSON in the content
    server.empty()                                             # content "" and no tool calls
    server.error(500, "boom")                                  # an HTTP error with an OpenAI error body
    server.raw({...})                                          # any JSON body, verbatim (status 200)
    server.garbage("<html>")                                   # a body that is not JSON at all
    server.reply(lambda request: {...})                        # computed from the request body: returns
                                                               # a body dict, or (status, body)

Every scripted method accepts `usage=(prompt_tokens, completion_tokens)` (default: ~chars/4 of the
request messages and of the reply) and `delay=seconds` (to provoke client timeouts), and returns
the server so calls chain. When the script is exhausted, `server.fallback` answers (default: HTTP
500 "chat_server: no scripted reply left"); set it with `server.set_fallback(kind, *args)`, e.g.
`server.set_fallback("tool_call", "finish", {...})`, for loops of unknown length.

Recorded: `server.requests` (the JSON bodies received, in order: assert `tool_choice`, `tools`,
`messages`, `max_tokens` ...), `server.last_request`, `server.remaining` (unconsumed replies).
`server.base_url` is "http://127.0.0.1:PORT/v1"; GET /v1/models lists `server.model`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict], tuple[int, dict]]


class ChatServer:
    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.requests: list[dict] = []
        self._script: deque[tuple[Reply, float]] = deque()
        self._lock = threading.Lock()
        self._counter = 0
        self.fallback: tuple[Reply, float] = (
            self._error_reply(500, "chat_server: no scripted reply left"),
            0.0,
        )
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ChatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="chat-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- script ----------------------------------------------------------------------------------
    def tool_call(self, name: str, arguments: dict | str, *, content: str = "", **opts: Any) -> ChatServer:
        return self.tool_calls([(name, arguments)], content=content, **opts)

    def tool_calls(
        self, calls: list[tuple[str, dict | str]], *, content: str = "", **opts: Any
    ) -> ChatServer:
        def build(request: dict) -> tuple[int, dict]:
            tool_calls = [
                {
                    "id": f"call_{self._next_id()}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for name, args in calls
            ]
            message = {"role": "assistant", "content": content or None, "tool_calls": tool_calls}
            completion_text = content + "".join(call["function"]["arguments"] for call in tool_calls)
            return 200, self._completion(request, message, "tool_calls", completion_text, opts.get("usage"))

        return self._push(build, opts.get("delay", 0.0))

    def text(self, content: str, **opts: Any) -> ChatServer:
        def build(request: dict) -> tuple[int, dict]:
            message = {"role": "assistant", "content": content}
            return 200, self._completion(request, message, "stop", content, opts.get("usage"))

        return self._push(build, opts.get("delay", 0.0))

    def empty(self, **opts: Any) -> ChatServer:
        return self.text("", **opts)

    def error(self, status: int = 500, message: str = "internal error", **opts: Any) -> ChatServer:
        return self._push(self._error_reply(status, message), opts.get("delay", 0.0))

    def raw(self, body: dict, *, status: int = 200, **opts: Any) -> ChatServer:
        return self._push(lambda request: (status, body), opts.get("delay", 0.0))

    def garbage(self, text: str = "<html>upstream proxy error</html>", *, status: int = 200, **opts: Any) -> ChatServer:
        """A body that is not JSON, sent as `application/json` (a broken proxy, a crashed server)."""
        return self._push(lambda request: (status, text.encode()), opts.get("delay", 0.0))

    def reply(self, build: Callable[[dict], Any], **opts: Any) -> ChatServer:
        def wrapped(request: dict) -> tuple[int, dict]:
            result = build(request)
            return result if isinstance(result, tuple) else (200, result)

        return self._push(wrapped, opts.get("delay", 0.0))

    def set_fallback(self, kind: str, *args: Any, **opts: Any) -> ChatServer:
        """Answer with this reply (same arguments as the scripting method `kind`) once the script is empty."""
        getattr(self, kind)(*args, **opts)
        with self._lock:
            self.fallback = self._script.pop()
        return self

    @property
    def last_request(self) -> dict:
        return self.requests[-1]

    @property
    def remaining(self) -> int:
        return len(self._script)

    def completion(
        self, message: dict, *, finish_reason: str = "stop", usage: tuple[int, int] = (10, 5)
    ) -> dict:
        """A full response body around `message` (for `raw`/`reply` users)."""
        return self._completion({}, message, finish_reason, "", usage)

    # --- internals -------------------------------------------------------------------------------
    def _push(self, build: Reply, delay: float) -> ChatServer:
        with self._lock:
            self._script.append((build, delay))
        return self

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _answer(self, request: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(request)
            build, delay = self._script.popleft() if self._script else self.fallback
        if delay:
            time.sleep(delay)
        return build(request)

    def _completion(self, request: dict, message: dict, finish: str, text: str, usage: Any) -> dict:
        if usage is None:
            prompt = len(json.dumps(request.get("messages", []))) // 4 + 1
            usage = (prompt, len(text) // 4 + 1)
        return {
            "id": f"chatcmpl-{self._next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
        }

    @staticmethod
    def _error_reply(status: int, message: str) -> Reply:
        body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
        return lambda request: (status, body)


def _handler_for(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                data = [{"id": server.model, "object": "model", "created": 0, "owned_by": "chat_server"}]
                self._send(200, {"object": "list", "data": data})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "request body is not JSON"}})
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            status, body = server._answer(request)
            self._send(status, body)

        def _send(self, status: int, body: dict | bytes) -> None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
