"""Labels put on every container and image the studio creates, so a sweeper can find leftovers."""

LABEL_PREFIX = "studio"
MANAGED = f"{LABEL_PREFIX}.managed"
KIND = f"{LABEL_PREFIX}.kind"  # base | gold | episode | validate | baseline | build
OWNER = f"{LABEL_PREFIX}.owner"  # e.g. "episode:12", "gold:3"
INSTANCE = f"{LABEL_PREFIX}.instance"  # which studio installation created it
WORKER = f"{LABEL_PREFIX}.worker"  # which worker process (host:pid:start): swept only once that one is dead


def labels(kind: str, owner: str = "", instance: str = "default", worker: str = "") -> dict[str, str]:
    return {MANAGED: "1", KIND: kind, OWNER: owner, INSTANCE: instance, WORKER: worker}
