"""The tests, one folder per room of the code (``tests/<room>/test_<module>.py``);
``end_to_end/`` runs the whole service, ``repository/`` checks the repository as a whole."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
