"""A tiny check runner shared by the client suites: one line per check, exit 1 on failure."""

import sys
import traceback


class Checks:
    """Runs named checks, printing `ok NAME` or `FAIL NAME: why`; `finish` sets the exit code."""

    def __init__(self):
        self.failed = []

    def run(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next runs
            self.failed.append(name)
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL {name}: {type(e).__name__}: {e} (line {where.lineno})", flush=True)
        else:
            print(f"ok   {name}", flush=True)

    def prefixed(self, prefix):
        """A decorator `@check("name")` that runs the function at once as `prefix: name`."""

        def check(name):
            def run(fn):
                self.run(f"{prefix}: {name}", fn)
                return fn

            return run

        return check

    def finish(self):
        if self.failed:
            print(f"{len(self.failed)} check(s) failed: {', '.join(self.failed)}", flush=True)
            sys.exit(1)
        print("all checks passed", flush=True)
