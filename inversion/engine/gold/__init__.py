"""Gold stage: fetch sources, synthesize the Dockerfile, build the image, take the baseline and surface."""
