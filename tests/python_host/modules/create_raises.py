"""create() raises: the backend cannot be made here, SKIP with the reason."""


def create(options):
    raise RuntimeError("no accelerator for this test backend")
