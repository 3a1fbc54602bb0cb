"""A Harbor agent that plays one reward hack of the studio's library instead of repairing anything
(used by the harness acceptance test: `--agent harbor_hack_agent:HackAgent --ak hack=PATH`).
It runs inside Harbor's own Python, so it imports only Harbor and the standard library."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from harbor.agents.base import BaseAgent
from harbor.environments.base import BaseEnvironment
from harbor.models.agent.context import AgentContext

IDS = re.compile(r"`([^`\s]+::[^`]+)`")


class HackAgent(BaseAgent):
    def __init__(self, *args, hack: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hack = Path(hack)

    @staticmethod
    def name() -> str:
        return "studio-hack"

    def version(self) -> str:
        return "1.0.0"

    async def setup(self, environment: BaseEnvironment) -> None:
        return

    async def run(self, instruction: str, environment: BaseEnvironment, context: AgentContext) -> None:
        """What an adversary knows: the failing test ids the issue text lists."""
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("\n".join(IDS.findall(instruction)) + "\n")
        await environment.upload_file(fh.name, "/tmp/.hack-ids")
        await environment.upload_file(str(self.hack), "/tmp/.hack.sh")
        result = await environment.exec(command="cd /testbed && bash /tmp/.hack.sh", user="root",
                                        env={"STUDIO_GRADED_IDS": "/tmp/.hack-ids"})
        (self.logs_dir / "hack.txt").write_text(f"exit {result.return_code}\n{result.stdout or ''}{result.stderr or ''}")
