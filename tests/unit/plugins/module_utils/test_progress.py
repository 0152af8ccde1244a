# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _progress as progress

STEPS = ("started", "stopped", "edited", "done")
STEP_EDITS = {"edited": ("config", "flags")}
PATH = "/var/lib/nodeops/op.json"


def opened(**kwargs):
    return progress.progress({}, "started", "2024-05-01T02:00:00Z", "op", STEPS, STEP_EDITS, node="w1",
                             controller="ctl", **kwargs)


def test_started_opens_a_record_with_the_memo_only_when_given():
    record = opened()
    assert record == {"operation": "op", "node": "w1", "started": "2024-05-01T02:00:00Z", "controller": "ctl",
                      "cordoned_before": False, "step": "started", "steps": {"started": "2024-05-01T02:00:00Z"},
                      "updated": "2024-05-01T02:00:00Z", "backups": {}, "resumed": []}
    assert opened(memo={"old": "a"})["memo"] == {"old": "a"}


def test_a_resumed_record_keeps_the_first_attempts_memo_and_notes_the_new_run():
    first = opened(memo={"old": "docker"})
    again = progress.progress(first, "started", "t9", "op", STEPS, STEP_EDITS, controller="c2",
                              memo={"old": "containerd", "more": 1})
    assert again["memo"] == {"old": "docker", "more": 1}
    assert again["resumed"] == [{"at": "t9", "controller": "c2"}]
    assert again["started"] == first["started"] and first["resumed"] == []


def test_a_step_keeps_only_its_own_edits_and_the_first_backup_of_each():
    edits = {"config": {"changed": True, "path": "/etc/c.toml", "backup_file": "/etc/c.toml.1~"},
             "flags": {"changed": True, "dest": "/f.env"},
             "other": {"changed": True, "path": "/o", "backup_file": "/o.1~"}}
    record = progress.progress(opened(), "edited", "t2", "op", STEPS, STEP_EDITS, edits=edits)
    assert record["backups"] == {"config": {"path": "/etc/c.toml", "backup_file": "/etc/c.toml.1~"},
                                 "flags": {"path": "/f.env", "created": True}}
    later = {"config": {"changed": True, "path": "/etc/c.toml", "backup_file": "/etc/c.toml.2~"}}
    again = progress.progress(record, "edited", "t3", "op", STEPS, STEP_EDITS, edits=later)
    assert again["backups"]["config"]["backup_file"] == "/etc/c.toml.1~"
    assert (again["step"], again["steps"]["edited"], again["updated"]) == ("edited", "t3", "t3")
    assert progress.progress(opened(), "stopped", "t1", "op", STEPS, STEP_EDITS, edits=edits)["backups"] == {}


def test_an_unknown_step_is_an_error():
    with pytest.raises(ValueError):
        progress.progress({}, "nope", "t", "op", STEPS, STEP_EDITS)


def test_restores_puts_the_records_backups_first_and_adds_unnoted_ones():
    record = {"backups": {"config": {"path": "/c", "backup_file": "/c.1~"}, "flags": {"path": "/f", "created": True}}}
    edits = {"config": {"changed": True, "path": "/c", "backup_file": "/c.2~"},
             "kubelet": {"changed": True, "path": "/k", "backup_file": "/k.2~"},
             "same": {"changed": False, "path": "/s"}}
    assert progress.restores(record, edits) == [{"name": "config", "path": "/c", "backup_file": "/c.1~"},
                                                {"name": "kubelet", "path": "/k", "backup_file": "/k.2~"}]
    assert progress.restores({}, None) == []
    assert progress.backup_files(record) == ["/c.1~"]


def read(record=None, error=None, exists=True):
    return {"path": PATH, "exists": exists, "record": record, "error": error}


@pytest.mark.parametrize("found, expected", [
    (read(error="cannot read it: Permission denied"),
     "the progress record %s cannot be used: cannot read it: Permission denied; fix %s" % (PATH, PATH)),
    (read({"operation": "other", "started": "t0", "controller": "c"}),
     "%s is not a progress record of the op (operation: other, started: t0, controller: c); "
     "finish that operation first, or fix %s" % (PATH, PATH)),
    (read({"operation": "op", "step": "flying", "cordoned_before": False}),
     "the progress record %s names no known step (step: flying; known: started, stopped, edited, done); fix %s"
     % (PATH, PATH)),
    (read({"operation": "op", "step": "edited"}),
     "the progress record %s does not say whether the Node was cordoned before the interrupted run "
     "(cordoned_before: None); fix %s" % (PATH, PATH)),
])
def test_check_record_names_the_file_the_cause_and_the_fix(found, expected):
    assert progress.check_record(found, "op", "the op", STEPS, "fix %s") == [expected]


def test_a_usable_record_is_summarised():
    record = dict(opened(), step="edited", steps={"started": "t0", "edited": "t2"})
    assert progress.check_record(read(record), "op", "the op", STEPS, "fix %s") == []
    assert progress.has_record(read(record)) and not progress.has_record(read(exists=False))
    assert progress.summary(read(record)) == {"path": PATH, "step": "edited", "at": "t2",
                                              "started": "2024-05-01T02:00:00Z", "controller": "ctl",
                                              "backups": {}}


def test_adopt_backups_takes_the_oldest_backup_since_the_start_by_ctime():
    started = 1714528800  # 2024-05-01T02:00:00Z
    found = [{"path": "/f.env.1.old~", "ctime": started - 10}, {"path": "/f.env.3.b~", "ctime": started + 9},
             {"path": "/f.env.2.a~", "ctime": started + 5}, {"path": "/f.env.bak", "ctime": started + 1}]
    adopted = progress.adopt_backups(opened(), found, {"flags": "/f.env", "config": "/c"})
    assert adopted["backups"] == {"flags": {"path": "/f.env", "backup_file": "/f.env.2.a~", "found": True}}
