"""run() never returns: under attnmatrix --isolate --timeout the cell is TIMEOUT."""
import time


class Hangs:
    def device(self):
        return "cpu"

    def check(self, problem):
        return None

    def run(self, problem):
        while True:
            time.sleep(0.05)


def create(options):
    return Hangs()
