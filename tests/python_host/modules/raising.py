"""Raises in run(): the cell must FAIL with the exception's type, message and file:line."""


class Raising:
    def device(self):
        return "cpu"

    def check(self, problem):
        return None

    def run(self, problem):
        helper(problem)


def helper(problem):
    raise ValueError(f"deliberate failure for Tq={problem.Tq}")  # the line the message must name


def create(options):
    return Raising()
