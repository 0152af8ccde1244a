"""The documentation generated from the role argument specs is current."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_variables_document_matches_the_role_argument_specs():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "ci", "gen_variables_doc.py"), "--check"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_every_role_has_an_argument_spec():
    roles = os.listdir(os.path.join(ROOT, "roles"))
    assert roles
    for role in roles:
        assert os.path.exists(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")), role
