# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.nodeops.kubernetes.plugins.filter import containerd_switch


def test_filters_are_registered():
    assert set(containerd_switch.FilterModule().filters()) == {
        "containerd_switch_progress", "containerd_switch_resume", "containerd_switch_progress_adopt",
        "containerd_switch_restores"}


def test_progress_filter_names_the_controller_and_passes_its_keywords():
    record = containerd_switch.containerd_switch_progress({}, "started", "2024-05-01T02:00:00Z", node="w1",
                                                          cordoned_before=True, memo={"old_cri_socket": ""})
    assert record["controller"] == socket.gethostname()
    assert (record["node"], record["cordoned_before"], record["memo"]) == ("w1", True, {"old_cri_socket": ""})
    edits = {"containerd_config": {"changed": True, "path": "/etc/containerd/config.toml", "backup_file": "/b"}}
    record = containerd_switch.containerd_switch_progress(record, "containerd_configured", "t1", edits=edits)
    assert record["backups"]["containerd_config"]["backup_file"] == "/b"
    read = {"path": "/p", "exists": True, "record": record, "error": None}
    assert containerd_switch.containerd_switch_resume(read, "w1")["action"] == "resume"
    assert containerd_switch.containerd_switch_restores(record, {}) == [
        {"name": "containerd_config", "path": "/etc/containerd/config.toml", "backup_file": "/b"}]
    adopted = containerd_switch.containerd_switch_progress_adopt(
        record, [{"path": "/f.1.a~", "ctime": 1714528900}], {"kubelet_flags": "/f"})
    assert adopted["backups"]["kubelet_flags"]["found"] is True
