"""run() calls sys.exit(3): a SystemExit is an exception like any other, the host keeps running."""
import sys


class Exits:
    def device(self):
        return "cpu"

    def check(self, problem):
        return None

    def run(self, problem):
        sys.exit(3)


def create(options):
    return Exits()
