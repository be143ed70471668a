"""The tally the offline checkers share: count passes, print failures,
close with the "LABEL: N passed, M failed" line tests/run_all.sh reads."""


class Checks:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what)

    def finish(self):
        print(f"{self.label}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
