"""Refuses everything, as unsupported or not applicable by the D of the problem; echoes its options
in the reason (they arrive as a dict of str)."""


class Refuses:
    def __init__(self, options):
        self.options = options

    def device(self):
        return "cpu"

    def check(self, problem):
        if problem.Tq == problem.Tk:
            return "n/a: square problems mean nothing to this test backend"
        return f"refused with options {sorted(self.options.items())}"

    def run(self, problem):
        raise AssertionError("run() after check() refused")


def create(options):
    return Refuses(options)
