"""OpenAI-compatible chat client (+ lenient JSON recovery) and the managed local model."""

from inversion.engine.runtime.llm.client import ChatClient, ChatReply, ToolCall
from inversion.engine.runtime.llm.lenient import parse_json_leniently

__all__ = ["ChatClient", "ChatReply", "ToolCall", "parse_json_leniently"]
