"""A fake Windows host, API server and drain for running the windows_node upgrade flow on Linux.

Each fake module keeps its state in the JSON file named by the environment variable WINDOWS_FAKE_STATE:
``files`` (path -> the version the file holds), ``kubelet`` (running or stopped), ``running`` (the
version of the kubelet that last started), ``broken`` (versions whose kubelet never gets Ready),
``renew`` (Lease renewals), ``cordoned``, ``events`` (what happened, in order) and failure switches
(``kubeadm_fails``, ``unreadable`` files).
"""

COMMON = r'''
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule


def load():
    with open(os.environ["WINDOWS_FAKE_STATE"]) as handle:
        return json.load(handle)


def save(state):
    with open(os.environ["WINDOWS_FAKE_STATE"], "w") as handle:
        json.dump(state, handle)
'''

MODULES = {
    "ansible/windows/plugins/modules/win_get_url.py": r'''
def main():
    module = AnsibleModule(dict(url=dict(), dest=dict(), checksum=dict(), checksum_algorithm=dict()),
                           supports_check_mode=True)
    state = load()
    version = re.search(r"v\d+\.\d+\.\d+", module.params["url"]).group(0)
    changed = state["files"].get(module.params["dest"]) != version
    if changed and not module.check_mode:
        state["files"][module.params["dest"]] = version
        state["events"].append("download " + module.params["dest"])
        save(state)
    module.exit_json(changed=changed)


main()
''',
    "ansible/windows/plugins/modules/win_stat.py": r'''
def main():
    module = AnsibleModule(dict(path=dict(), get_checksum=dict(type="bool")), supports_check_mode=True)
    module.exit_json(changed=False, stat={"exists": module.params["path"] in load()["files"]})


main()
''',
    "ansible/windows/plugins/modules/win_copy.py": r'''
def main():
    module = AnsibleModule(dict(src=dict(), dest=dict(), remote_src=dict(type="bool"),
                                force=dict(type="bool", default=True)), supports_check_mode=True)
    state = load()
    src, dest = module.params["src"], module.params["dest"]
    if src not in state["files"] or src in state.get("unreadable", []):
        module.fail_json(msg="cannot read %s" % src)
    if dest in state["files"] and not module.params["force"]:
        module.exit_json(changed=False)
    changed = state["files"].get(dest) != state["files"][src]
    if changed and not module.check_mode:
        state["files"][dest] = state["files"][src]
        state["events"].append("copy %s -> %s" % (src, dest))
        save(state)
    module.exit_json(changed=changed)


main()
''',
    "ansible/windows/plugins/modules/win_command.py": r'''
def main():
    module = AnsibleModule(dict(argv=dict(type="list", elements="str")))
    state = load()
    state["events"].append("run " + " ".join(module.params["argv"][1:]))
    save(state)
    if state.get("kubeadm_fails"):
        module.fail_json(msg="kubeadm upgrade node failed", rc=1)
    module.exit_json(changed=True, rc=0)


main()
''',
    "ansible/windows/plugins/modules/win_service.py": r'''
def main():
    module = AnsibleModule(dict(name=dict(), state=dict()), supports_check_mode=True)
    state = load()
    wanted = "running" if module.params["state"] == "started" else "stopped"
    changed = state["kubelet"] != wanted
    if changed and not module.check_mode:
        state["kubelet"] = wanted
        state["events"].append("kubelet " + wanted)
        if wanted == "running":
            state["running"] = state["files"]["C:\\k\\kubelet.exe"]
        save(state)
    module.exit_json(changed=changed, state=wanted)


main()
''',
    "kubernetes/core/plugins/modules/k8s_info.py": r'''
def main():
    module = AnsibleModule(dict(kind=dict(), name=dict(), namespace=dict(), api_version=dict()),
                           supports_check_mode=True)
    state = load()
    healthy = state["kubelet"] == "running" and state["running"] not in state["broken"]
    if module.params["kind"] == "Node":
        node = {"metadata": {"name": module.params["name"]}, "spec": {"unschedulable": state["cordoned"]},
                "status": {"nodeInfo": {"kubeletVersion": state["running"]},
                           "conditions": [{"type": "Ready", "status": "True" if healthy else "Unknown"}]}}
        module.exit_json(changed=False, resources=[node])
    if healthy:
        state["renew"] += 1
        save(state)
    module.exit_json(changed=False, resources=[{"spec": {"renewTime": "t%d" % state["renew"]}}])


main()
''',
    "nodeops/kubernetes/plugins/modules/drain.py": r'''
NAMES = ("name state ready_timeout delete_emptydir_data disable_eviction eviction_retry_interval force grace_period "
         "ignore_daemonsets max_concurrent_evictions skip_wait_for_delete_timeout timeout uncordon_on_failure "
         "pod_selector").split()


def main():
    module = AnsibleModule(dict((name, dict(type="raw")) for name in NAMES), supports_check_mode=True)
    state = load()
    before = state["cordoned"]
    if not module.check_mode:
        state["cordoned"] = module.params["state"] != "uncordon"
        state["events"].append(module.params["state"])
        save(state)
    module.exit_json(changed=before != (module.params["state"] != "uncordon"), cordoned_before=before,
                     node_left_cordoned=state["cordoned"])


main()
''',
}
