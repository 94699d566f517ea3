"""run() returns None without writing problem.o: "wrote nothing", not a plain wrong answer."""


class WritesNothing:
    def device(self):
        return "cpu"

    def check(self, problem):
        return None

    def run(self, problem):
        o = problem.o  # forgets to write through a from_dlpack view
        del o


def create(options):
    return WritesNothing()
