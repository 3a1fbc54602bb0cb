"""Factories for the whole suite, in one place."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inversion.Repository"

    name = factory.Sequence(lambda n: f"repo{n}")
    kind = "pypi"
    spec = factory.LazyAttribute(lambda o: f"pypi:{o.name}==1.0")
    location = factory.LazyAttribute(lambda o: o.name)
    ref = "1.0"


class GoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inversion.GoldEnvironment"

    repository = factory.SubFactory(RepositoryFactory)
    status = "ready"
    image = "studio-gold:test"
    dockerfile = "FROM local/bookworm-py:base3\n"


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inversion.Episode"

    gold = factory.SubFactory(GoldFactory)
    agent = "builtin"
    status = "running"


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "tasks.Task"
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"repo-dependency-{n:06x}")
    gold = factory.SubFactory(GoldFactory)
    category = "python_dependency"
    gold_dockerfile = "FROM local/bookworm-py:base3\n"
    dockerfile = "FROM local/bookworm-py:base3\nRUN rm -rf /opt/venv/lib/python3.11/site-packages/six.py\n"
    dockerfile_delta = "RUN rm -rf /opt/venv/lib/python3.11/site-packages/six.py\n"
    fail_to_pass = factory.LazyFunction(lambda: ["tests/test_a.py::test_one"])
    pass_to_pass = factory.LazyFunction(lambda: ["tests/test_a.py::test_two"])
    failure_excerpts = factory.LazyFunction(lambda: {"tests/test_a.py::test_one": "ModuleNotFoundError: six"})

    @factory.post_generation
    def text(self, create, extracted, **kwargs):
        """TaskFactory(text="...") writes revision 1 by the studio writer."""
        if extracted is None:
            return
        from tasks.models import TaskRevision

        TaskRevision.objects.create(task=self, number=1, instruction=extracted, instruction_hard=extracted,
                                    source="writer")
        self.version = 1
        self.save(update_fields=["version"])
