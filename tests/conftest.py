"""pytest set-up for the tf.test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter out


def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase has a deprecated helper method named `test_session`,
    # which pytest would collect as a test and report as skipped.
    items[:] = [item for item in items if item.name != "test_session"]
