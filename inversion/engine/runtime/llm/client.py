"""One Chat Completions client for every OpenAI-compatible endpoint (hosted, vLLM, llama.cpp).

Model misbehaviour never raises: HTTP errors, timeouts, empty replies and unusable tool calls
come back as `ChatReply.error` / `ToolCall.error`, phrased so the agent can feed them back to
the model. Two tool-choice modes: "auto" (hosted models) and "named" (small local servers such
as llama.cpp 0.3.36, which honour a named tool_choice but ignore "auto"). When a model answers
with text instead of a tool call, a JSON object in the text is recovered leniently.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import openai

from inversion.engine.runtime.llm.lenient import parse_json_leniently

TOOL_CHOICE_MODES = ("auto", "named")
_QWEN_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict | None
    raw_arguments: str
    error: str = ""


@dataclass
class ChatReply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""
    outage: bool = False  # the endpoint itself is down (not a bad reply): retried, then fatal

    @property
    def ok_tool_calls(self) -> list[ToolCall]:
        return [call for call in self.tool_calls if not call.error]


OUTAGE_STATUSES = {502, 503, 504}


class ChatClient:
    """Thin wrapper over `openai.OpenAI().chat.completions.create` with lenient tool parsing."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        tool_choice_mode: str = "auto",
        timeout: float = 120,
        max_tokens: int = 1024,
        temperature: float | None = None,
        max_retries: int = 0,
        outage_wait: float = 60.0,
    ) -> None:
        if tool_choice_mode not in TOOL_CHOICE_MODES:
            raise ValueError(f"tool_choice_mode must be one of {TOOL_CHOICE_MODES}, not {tool_choice_mode!r}")
        if not model:
            raise ValueError("a model name is required")
        self.model = model
        self.tool_choice_mode = tool_choice_mode
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.outage_wait = outage_wait
        # Retries stay off by default: the agent loop asks again and counts the error, and a
        # retried request would silently consume budget.
        self._client = openai.OpenAI(
            base_url=base_url or None,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def complete(
        self, messages: list[dict], tools: list[dict] | None = None, *, tool_name: str | None = None
    ) -> ChatReply:
        """One round trip. With `tools`, the reply should carry tool calls; see module docstring.
        An outage (connection refused, 502/503/504) is retried with backoff for up to `outage_wait`
        seconds, then returned with `outage` set; a bad reply is returned at once to feed back."""
        delay, waited = 1.0, 0.0
        while True:
            reply = self._complete_once(messages, tools, tool_name)
            if not reply.outage or waited >= self.outage_wait:
                return reply
            pause = min(delay, self.outage_wait - waited)
            time.sleep(pause)
            waited, delay = waited + pause, delay * 2

    def _complete_once(self, messages: list[dict], tools: list[dict] | None, tool_name: str | None) -> ChatReply:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": _wire(messages),
            "max_tokens": self.max_tokens,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        tool_names = [_tool_name(tool) for tool in tools or []]
        if tool_name is not None and tool_name not in tool_names:
            raise ValueError(f"tool_name {tool_name!r} is not among the tools {tool_names}")
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = self._tool_choice(tool_names, tool_name)
        try:
            response = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            return ChatReply(error=f"the model endpoint did not answer within {self._client.timeout} s")
        except openai.APIConnectionError as exc:
            return ChatReply(error=f"the model endpoint is unreachable: {_short(str(exc.__cause__ or exc))}",
                             outage=True)
        except openai.APIStatusError as exc:
            return ChatReply(
                error=f"the model endpoint answered HTTP {exc.status_code}: {_short(exc.message)}",
                outage=exc.status_code in OUTAGE_STATUSES,
            )
        except openai.APIError as exc:
            return ChatReply(error=f"the model endpoint failed: {_short(str(exc))}")
        except ValueError as exc:  # a body that is not JSON (a proxy's error page): a bad reply
            return ChatReply(error=f"the model endpoint sent a reply that is not JSON: {_short(str(exc))}")
        try:
            return self._reply_from(response, tool_names, tool_name)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            return ChatReply(error=f"the model endpoint sent a malformed reply: {_short(str(exc))}")

    def _tool_choice(self, tool_names: list[str], tool_name: str | None) -> Any:
        if self.tool_choice_mode == "auto":
            return "auto"
        name = tool_name or (tool_names[0] if len(tool_names) == 1 else None)
        if name is None:
            raise ValueError("named tool choice needs tool_name when more than one tool is offered")
        return {"type": "function", "function": {"name": name}}

    def _reply_from(self, response: Any, tool_names: list[str], tool_name: str | None) -> ChatReply:
        usage = getattr(response, "usage", None)
        reply = ChatReply(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )
        choices = getattr(response, "choices", None) or []
        if not choices:
            reply.error = "the model sent no choices; answer again"
            return reply
        message = choices[0].message
        reply.content = (message.content or "").strip()
        for index, call in enumerate(message.tool_calls or []):
            function = getattr(call, "function", None)
            name = getattr(function, "name", "") or ""
            raw = getattr(function, "arguments", "") or ""
            reply.tool_calls.append(_tool_call(call.id or f"call-{index}", name, raw, tool_names))
        if not reply.tool_calls and tool_names and reply.content:
            recovered = _recover_from_text(reply.content, tool_names, tool_name)
            if recovered is not None:
                reply.tool_calls.append(recovered)
        if not reply.content and not reply.tool_calls:
            reply.error = "the model sent an empty reply; answer again"
        elif tool_names and not reply.ok_tool_calls:
            reply.error = (
                reply.tool_calls[0].error
                if reply.tool_calls
                else f"no tool call found in the reply; call one of the tools ({', '.join(tool_names)}) "
                "with JSON arguments"
            )
        return reply


def _tool_call(call_id: str, name: str, raw: str, tool_names: list[str]) -> ToolCall:
    call = ToolCall(id=call_id, name=name, arguments=None, raw_arguments=raw)
    if tool_names and name not in tool_names:
        call.error = f"unknown tool {name!r}; call one of: {', '.join(tool_names)}"
        return call
    if not raw.strip():
        call.arguments = {}
        return call
    call.arguments = parse_json_leniently(raw)
    if call.arguments is None:
        call.error = f"the arguments of {name} are not a JSON object: {_short(raw, 200)}; send valid JSON"
    return call


def _recover_from_text(content: str, tool_names: list[str], tool_name: str | None) -> ToolCall | None:
    """A tool call written as text: Qwen's <tool_call> tag, {"name", "arguments"}, or bare arguments."""
    tagged = _QWEN_TOOL_TAG.search(content)
    data = parse_json_leniently(tagged.group(1) if tagged else content)
    if data is None:
        return None
    if isinstance(data.get("name"), str) and ("arguments" in data or "parameters" in data):
        args = data.get("arguments", data.get("parameters"))
        raw = args if isinstance(args, str) else json.dumps(args)
        return _tool_call("recovered-0", data["name"], raw, tool_names)
    name = tool_name or (tool_names[0] if len(tool_names) == 1 else "")
    if not name:
        return None
    return _tool_call("recovered-0", name, json.dumps(data), tool_names)


def _wire(messages: list[dict]) -> list[dict]:
    """Messages as every server accepts them: llama.cpp's server rejects `"content": null`
    (which OpenAI sends back for tool-call turns), so a null content is left out."""
    out = []
    for message in messages:
        if "content" in message and message["content"] is None:
            message = {key: value for key, value in message.items() if key != "content"}
            if not message.get("tool_calls"):
                message["content"] = ""
        out.append(message)
    return out


def _tool_name(tool: dict) -> str:
    return str(tool.get("function", {}).get("name") or tool.get("name") or "")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
