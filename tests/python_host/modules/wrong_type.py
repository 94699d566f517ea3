"""check() answers 42 instead of None or a str: the module's bug, reported with what it returned."""


class WrongType:
    def device(self):
        return "cpu"

    def check(self, problem):
        return 42

    def run(self, problem):
        return None


def create(options):
    return WrongType()
