"""The ground floor: helpers that import no app, so everything else may build on them."""
