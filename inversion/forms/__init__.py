"""Forms of the inversion app, one module per entity."""
