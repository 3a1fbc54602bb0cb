"""Episode stage: the inversion loop, its agents, the fault catalog and the category taxonomy."""
