"""The built-in fault catalog: families of environment breakage with offline repairs."""

from inversion.engine.episode.faults.base import FaultFamily, FaultPlan, PlanContext, families, family

__all__ = ["FaultFamily", "FaultPlan", "PlanContext", "families", "family"]
