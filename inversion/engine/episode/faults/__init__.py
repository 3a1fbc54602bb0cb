"""The built-in fault catalog: families of environment breakage with offline repairs."""

from inversion.engine.episode.faults.base import (
    NO_TARGET,
    FaultFamily,
    FaultPlan,
    PlanContext,
    families,
    family,
)

__all__ = ["NO_TARGET", "FaultFamily", "FaultPlan", "PlanContext", "families", "family"]
