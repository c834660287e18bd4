"""One Locust file per scenario of loadtest/scenarios/plan.py."""
