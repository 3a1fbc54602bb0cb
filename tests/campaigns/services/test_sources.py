"""Source lists: specs and requirement lines, every bad line named with its number."""

from __future__ import annotations

import pytest

from campaigns.services.sources import parse_sources, split_counts
from studio.lib.exceptions import ApplicationError


def test_specs_and_requirement_lines_become_canonical_specs(tmp_path):
    text = f"""# a campaign
pypi:six==1.16.0
attrs==23.2.0   # a requirement line
Markupsafe[extra] == 2.1.5
git+file:///srv/proj.git@v1

path:{tmp_path}
"""
    got = [(s.line, s.spec) for s in parse_sources(text)]
    assert got == [(2, "pypi:six==1.16.0"), (3, "pypi:attrs==23.2.0"), (4, "pypi:markupsafe==2.1.5"),
                   (5, "git:file:///srv/proj.git@v1"), (7, f"path:{tmp_path}")]


def test_every_bad_line_is_named_at_once(tmp_path):
    text = "six\n-r other.txt\npypi:six==1.16.0\nsix==1.16.0\nattrs>=23\npath:/no/such/dir\nsvn:x\n"
    with pytest.raises(ApplicationError) as err:
        parse_sources(text)
    lines = err.value.extra["lines"]
    assert [msg.split(":")[0] for msg in lines] == ["line 1", "line 2", "line 4", "line 5", "line 6", "line 7"]
    assert "not a pinned requirement" in lines[0] and "pip options" in lines[1]
    assert "repeats line 3" in lines[2] and "not an existing absolute directory" in lines[4]
    assert err.value.message.startswith("6 bad source lines: line 1:")


def test_an_empty_list_is_refused():
    with pytest.raises(ApplicationError, match="empty"):
        parse_sources("# nothing\n\n")


def test_the_agent_mix_shares_episodes_by_weight():
    assert split_counts(4, {"builtin": 3, "llm": 1}) == {"builtin": 3, "llm": 1}
    assert split_counts(1, {"builtin": 1, "llm": 1}) == {"builtin": 1}
    assert split_counts(5, {"builtin": 1}) == {"builtin": 5}
    assert sum(split_counts(7, {"builtin": 2, "llm": 1}).values()) == 7
