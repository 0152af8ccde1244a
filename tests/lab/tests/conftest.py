"""pytest set-up of the lab tests: the lab package on the path, the lab_nodes marker."""

import os
import sys

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)


def pytest_configure(config):
    config.addinivalue_line("markers", "lab_nodes: needs root, podman and a real lab cluster (brought up once)")
