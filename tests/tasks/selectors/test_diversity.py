"""Duplicates are refused, near-duplicates warned about with the twin linked, and a catalog's
diversity report (page and `studio --json catalog diversity`) counts what a dataset owner publishes."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from inversion.engine.episode.signature import families_key, signature_of
from studio.lib.exceptions import ApplicationError
from tasks.models import Task
from tasks.selectors.diversity import catalog_diversity, diversity_of, gold_signature_keys, task_twins
from tasks.services.catalogs import catalog_add_tasks, catalog_approve_into, catalog_get_or_create
from tasks.services.review import task_transition_checked
from tests.factories import GoldFactory, TaskFactory

TEXT = ("The test suite of `repo` used to pass in this environment, but now 1 test fails when running "
        "`python -m pytest` in `/testbed`. Find out what is wrong with the environment and repair it.")


def _task(gold, family, target, paths, env=(), state=Task.State.APPROVED, slug=None, category="environment",
          more=(), **kw):
    """`more`: further layers ({family, category, target}) of a compound task."""
    sig = signature_of(layers=[{"family": family, "category": category, "target": target}, *more],
                       delta=[{"env": e, "value": "/x"} for e in env], touched=paths)
    return TaskFactory(gold=gold, state=state, category=category, signature=sig, signature_key=sig["key"],
                       text=TEXT, **({"slug": slug} if slug else {}), **kw)


@pytest.fixture
def gold(db):
    return GoldFactory()


def test_a_catalog_refuses_a_duplicate_signature(gold, root):
    a = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"])
    b = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"])
    catalog = catalog_get_or_create(name="main")
    catalog_add_tasks(catalog=catalog, tasks=[a], user=root)
    with pytest.raises(ApplicationError, match=f"{b.slug} duplicates {a.slug}"):
        catalog_add_tasks(catalog=catalog, tasks=[b], user=root)
    other = _task(GoldFactory(), "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"])
    catalog_add_tasks(catalog=catalog, tasks=[other], user=root)  # another repository: another environment


def test_a_gold_knows_each_task_by_its_signature_and_by_its_set_of_catalog_families(gold):
    made = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"],
                 more=[{"family": "sitecustomize_blocker", "category": "startup_hooks", "target": "six"}])
    llm = _task(gold, "", "", ["/opt/venv/lib/python3.11/site-packages/six.py"])
    _task(gold, "stale_bytecode", "yaml", ["/x/yaml.pyc"], state=Task.State.REJECTED)
    known = gold_signature_keys(gold_id=gold.pk)
    other = signature_of(layers=[{"family": "sitecustomize_blocker", "target": "yaml"},
                                 {"family": "pythonpath_stub", "target": "yaml"}], delta=[], touched=["/a/yaml.py"])
    assert families_key(other) == "families:pythonpath_stub+sitecustomize_blocker"
    assert known[families_key(other)] == made.slug and known[made.signature_key] == made.slug
    assert known[llm.signature_key] == llm.slug and families_key(llm.signature) == ""  # an inferred kind
    assert "families:stale_bytecode" not in known  # a rejected task does not count


def test_approving_a_near_duplicate_warns_with_the_twin(gold, root, bob):
    first = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"])
    second = _task(gold, "pythonpath_stub", "yaml", ["/opt/shared/python/yaml.py"], env=["PYTHONPATH"],
                   state=Task.State.IN_REVIEW)
    unrelated = _task(gold, "so_elf_header_shadow", "libssl.so.3", ["/usr/lib/x86_64-linux-gnu/libssl.so.3"])
    _, twins = task_transition_checked(task=second, user=bob, action="approve")
    assert [t["task"].pk for t in twins] == [first.pk] and not twins[0]["duplicate"]
    assert twins[0]["similarity"] >= 0.6
    assert task_twins(task=unrelated) == []
    version, _, warnings = catalog_approve_into(catalog_name="main", refs=[str(first.pk), str(second.pk)], user=root)
    assert {(w["task"].pk, w["twin"].pk) for w in warnings} == {(first.pk, second.pk), (second.pk, first.pk)}


def test_the_review_page_and_the_warning_link_the_twin(gold, client, bob):
    first = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"],
                  slug="repo-environment-<b>x")
    second = _task(gold, "pythonpath_stub", "yaml", ["/opt/shared/python/yaml.py"], env=["PYTHONPATH"],
                   state=Task.State.IN_REVIEW)
    client.force_login(bob)
    response = client.post(reverse("task_action", args=[second.pk, "approve"]), follow=True)
    html = response.content.decode()
    assert f'href="{reverse("task_detail", args=[first.pk])}"' in html and "near-duplicate" in html
    assert "&lt;b&gt;x" in html and "<b>x" not in html  # slugs are escaped
    page = client.get(reverse("task_detail", args=[second.pk])).content.decode()
    assert "pythonpath_stub(yaml)" in page and 'id="twins"' in page


def test_the_diversity_report_counts_families_signatures_and_clusters(gold, root, client, charlie):
    tasks = [_task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"]),
             _task(gold, "pythonpath_stub", "yaml", ["/opt/shared/python/yaml.py"], env=["PYTHONPATH"]),
             _task(gold, "so_elf_header_shadow", "libssl.so.3", ["/usr/lib/x86_64-linux-gnu/libssl.so.3"],
                   category="shared_library", fault_count=2, pass_to_pass=[],
                   fail_to_pass=["tests/test_a.py::test_one", "tests/test_a.py::test_two"],
                   more=[{"family": "sitecustomize_blocker", "category": "startup_hooks", "target": "ssl"}])]
    catalog = catalog_get_or_create(name="main")
    catalog_add_tasks(catalog=catalog, tasks=tasks, user=root)
    report = catalog_diversity(catalog=catalog)
    assert report["tasks"] == 3 and report["distinct_signatures"] == 3 and report["duplicates"] == []
    assert report["families"] == {"pythonpath_stub": 2, "so_elf_header_shadow": 1, "sitecustomize_blocker": 1}
    # a compound task counts in each of its layers' categories, as in each of its families
    assert report["categories"] == {"environment": 2, "shared_library": 1, "startup_hooks": 1}
    assert [[t["id"] for t in c] for c in report["near_duplicate_clusters"]] == [[tasks[0].pk, tasks[1].pk]]
    assert report["compound_share"] == round(1 / 3, 3) and report["whole_suite_share"] == round(1 / 3, 3)
    assert report["near_whole_share"] == round(1 / 3, 3)  # the singles fail one of their two tests
    assert report["largest_family"]["name"] == "pythonpath_stub" and report["largest_family"]["share"] == round(2 / 3, 3)
    assert report["largest_family"]["of_faults"] == round(2 / sum(report["families"].values()), 3)
    assert report["largest_family"]["floor"] == round(2 / 3, 3)  # 4 layers over 3 families: one is laid twice
    # the two single faults fail exactly the same test (the factory's), the compound one two tests
    assert report["failing_sets"] == {"distinct": 2, "largest_share": round(2 / 3, 3)}
    # failing 9 of 10 graded tests is no whole-suite task, but nearly one
    near = _task(gold, "stale_bytecode", "yaml", ["/opt/venv/lib/yaml/__pycache__/x.pyc"],
                 fail_to_pass=[f"tests/test_a.py::test_{i}" for i in range(9)], pass_to_pass=["tests/test_b.py::test_x"])
    both = diversity_of([*tasks, near])
    assert both["whole_suite_share"] == round(1 / 4, 3) and both["near_whole_share"] == round(2 / 4, 3)
    out = io.StringIO()
    call_command("studio", "--json", "catalog", "diversity", "main", stdout=out)
    assert json.loads(out.getvalue())["families"] == report["families"]
    client.force_login(charlie)  # any signed-in person reads it
    page = client.get(reverse("catalog_diversity", args=[catalog.pk])).content.decode()
    assert 'id="stat-signatures">3<' in page and "Cluster 1" in page
    assert "distinct F2P sets: 2 (the commonest failed by 67% of tasks)" in page
    client.logout()
    assert client.get(reverse("catalog_diversity", args=[catalog.pk])).status_code == 302


def test_tasks_list_json_carries_the_signature_and_fault_count(gold):
    task = _task(gold, "pythonpath_stub", "six", ["/opt/shared/python/six.py"], env=["PYTHONPATH"], fault_count=2)
    out = io.StringIO()
    call_command("studio", "--json", "tasks", "list", stdout=out)
    (row,) = json.loads(out.getvalue())["tasks"]
    assert row["fault_count"] == 2 and row["signature"]["key"] == task.signature_key
    assert row["signature"]["label"] == "pythonpath_stub(six)"


def test_a_built_in_episode_that_nearly_repeats_a_task_is_refused_and_its_set_counts_as_made(gold):
    """cachetools, 2 faults: a shared startup-hook layer with another one-step partner measured 0.60.
    Validation measures the real signature and text: a built-in episode's near-duplicate is not kept,
    and the guard of later episodes sees its family set; a model's episode is kept (the catalog warns)."""
    from types import SimpleNamespace

    from inversion.selectors.episodes import episode_used_signatures
    from tasks.services.materialize import _near_twin
    from tests.factories import EpisodeFactory

    hook = ["/etc/python3.11/sitecustomize.py", "/usr/lib/python3.11/sitecustomize.py", "/opt/venv/lib/site/zz.pth"]
    made = _task(gold, "sitecustomize_blocker", "fractions", [*hook, "/usr/lib/python3.11/fractions.py"],
                 category="startup_hooks", more=[{"family": "stdlib_py_tab_indent", "category": "standard_library",
                                                  "target": "fractions"}])
    sig = signature_of(layers=[{"family": "sitecustomize_blocker", "category": "startup_hooks", "target": "fractions"},
                               {"family": "stdlib_dpkg_diverted", "category": "package_manager", "target": "fractions"}],
                       delta=[], touched=[*hook, "/usr/lib/python3.11/fractions.py"])
    result, text = SimpleNamespace(signature=sig), SimpleNamespace(instruction_hard=TEXT)
    episode = EpisodeFactory(gold=gold, status="validating", result={"layers": []})
    reason = _near_twin(episode, result, text)
    assert made.slug in reason and "similarity" in reason
    episode.status, episode.failed_rule = "no_task", "near_duplicate"
    episode.save()
    used = episode_used_signatures(gold_id=gold.pk)
    twin = next(u for u in used if u["key"] == sig["key"])  # the refused set is made, for the guard
    assert "failing" not in twin  # but no task: it does not count in the whole-suite share

    llm = EpisodeFactory(gold=gold, status="validating", agent="llm", result={"layers": []})
    assert _near_twin(llm, result, text) == ""  # a model's near-duplicate is kept; the catalog warns
    far = signature_of(layers=[{"family": "locale_missing", "category": "locale", "target": "de_DE"}], delta=[],
                       touched=["/usr/lib/locale/de_DE"])
    assert _near_twin(EpisodeFactory(gold=gold, status="validating"), SimpleNamespace(signature=far), text) == ""
