"""Fixtures of the bad-input suite: the action plugins' base run, and the report of the session."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from bad_input_harness import Report  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def no_action_base_run(monkeypatch):
    """ActionBase.run() needs a whole play; the plugins only use its (empty) result."""
    from ansible.plugins.action import ActionBase  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)


@pytest.fixture(scope="session")
def bad_input_report():
    """The session's results, written as JSON after each case (see tests/unit/bad_input_table.py)."""
    return Report()
