"""One Locust file per scenario of loadtest/plan.py."""
