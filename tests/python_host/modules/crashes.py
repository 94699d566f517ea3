"""run() crashes the interpreter (a read of address 0 through ctypes): under --isolate, CRASH."""
import ctypes


class Crashes:
    def device(self):
        return "cpu"

    def check(self, problem):
        return None

    def run(self, problem):
        ctypes.string_at(0)


def create(options):
    return Crashes()
