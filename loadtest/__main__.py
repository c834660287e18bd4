"""``python -m loadtest list`` and ``python -m loadtest run <scenario> --service URL
[--sim URL] [--prometheus URL --alertmanager URL]``: one scenario against your service, with
a verdict. The runner and its rows are the verifiers' own (``loadtest/verify/scenario_run.py``,
``loadtest/verify/findings.py``)."""

import sys

from loadtest.verify.scenario_run import main

if __name__ == "__main__":
    sys.exit(main())
