"""Pages of the tasks app, one module per entity (`tasks`, `catalogs`, `exports`)."""
