"""A Terminal-Bench agent that plays one reward hack of the studio's library instead of repairing
anything (`tb run --agent-import-path tb_hack_agent:HackAgent -k hack=PATH`). It runs inside
Terminal-Bench's own Python, so it imports only Terminal-Bench and the standard library."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from terminal_bench.agents.base_agent import AgentResult, BaseAgent
from terminal_bench.agents.failure_mode import FailureMode

IDS = re.compile(r"`([^`\s]+::[^`]+)`")


class HackAgent(BaseAgent):
    def __init__(self, hack: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.hack = Path(hack)

    @staticmethod
    def name() -> str:
        return "studio-hack"

    def perform_task(self, instruction, session, logging_dir=None) -> AgentResult:
        with tempfile.TemporaryDirectory() as tmp:
            ids = Path(tmp) / "ids.txt"
            ids.write_text("\n".join(IDS.findall(instruction)) + "\n")
            session.copy_to_container(ids, container_dir="/tmp", container_filename=".hack-ids")
            session.copy_to_container(self.hack, container_dir="/tmp", container_filename=".hack.sh")
        session.container.exec_run(["bash", "-c", "cd /testbed && bash /tmp/.hack.sh"], user="root",
                                   environment={"STUDIO_GRADED_IDS": "/tmp/.hack-ids"})
        return AgentResult(total_input_tokens=0, total_output_tokens=0, failure_mode=FailureMode.NONE)
