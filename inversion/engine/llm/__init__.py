"""OpenAI-compatible chat client (+ lenient JSON recovery) and the managed local model."""

from inversion.engine.llm.client import ChatClient, ChatReply, ToolCall
from inversion.engine.llm.lenient import parse_json_leniently

__all__ = ["ChatClient", "ChatReply", "ToolCall", "parse_json_leniently"]
