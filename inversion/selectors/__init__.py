"""Reads of the inversion app, one module per entity (`repositories`, `golds`, `episodes`), plus the
`dashboard` figures that span them."""
