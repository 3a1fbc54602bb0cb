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
    dockerfile = "FROM local/bookworm-py:base\n"


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inversion.Episode"

    gold = factory.SubFactory(GoldFactory)
    agent = "builtin"
    status = "running"
