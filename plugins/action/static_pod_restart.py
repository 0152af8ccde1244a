# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ``nodeops.kubernetes.static_pod_restart``.

Restart one static pod the way the kubelet allows it: move its manifest out of the manifests
directory, wait until the kubelet has really stopped the pod (its processes are gone from the node),
move the manifest back, and wait until the mirror pod is Running and Ready with new containers. Every
wait polls a condition until a timeout; there is no fixed sleep. Whatever fails after the manifest was
moved out, the manifest is put back before the error is returned.

With ``wait_for: node`` the API server is not needed (a restore while it is down): the pod is stopped
when its processes are gone from the node and back when new ones run and the component's own health
endpoint on the node answers 200.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import posixpath
import time

from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._action_base import NodeOpsActionBase
from ansible_collections.nodeops.kubernetes.plugins.plugin_utils._node_script import node_python
from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal
from ansible_collections.nodeops.kubernetes.plugins.module_utils._errors import NodeOpsError
from ansible_collections.nodeops.kubernetes.plugins.module_utils._file_edit import remote_command, remote_read
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s import AUTH_ARG_SPEC, auth_params, get_api_client
from ansible_collections.nodeops.kubernetes.plugins.module_utils._k8s_rest import KubeApi

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

ARGUMENT_SPEC = dict(AUTH_ARG_SPEC)
ARGUMENT_SPEC.update(
    name=dict(type="str", required=True),
    static_pod=dict(type="str", required=True),
    manifests_dir=dict(type="path", default="/etc/kubernetes/manifests"),
    aside_dir=dict(type="path", default="/etc/kubernetes/manifests-aside"),
    namespace=dict(type="str", default="kube-system"),
    stop_timeout=dict(type="int", default=180),
    start_timeout=dict(type="int", default=300),
    poll_interval=dict(type="float", default=1.0),
    wait_for=dict(type="str", choices=["mirror_pod", "node"], default="mirror_pod"),
    health_url=dict(type="str"),
)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class PodApi(object):
    """Reads the mirror pod; any error (an API server being restarted) reads as 'not known now'."""

    def __init__(self, params):
        self.params = params
        self.core = None
        self.last_error = None

    def read(self, namespace, name):
        from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel

        try:
            if self.core is None:
                self.core = KubeApi(get_api_client(self.params))
            response = self.core.read_namespaced_pod(name, namespace, _preload_content=False, _request_timeout=15)
            return json.loads(response.data)
        except ApiException as exc:
            if exc.status == 404:
                self.last_error = None
                return {}
            self.last_error = "%s %s" % (exc.status, exc.reason)
        except NodeOpsError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            # connection refused, reset, TLS errors while the API server restarts
            self.last_error = "%s: %s" % (type(exc).__name__, exc)
        return None


class ActionModule(NodeOpsActionBase):

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_checked(self, args, task_vars):
        self._task_vars = task_vars
        static_pod = args["static_pod"]
        manifest = posixpath.join(args["manifests_dir"], static_pod + ".yaml")
        aside = posixpath.join(args["aside_dir"], static_pod + ".yaml")
        mirror = "%s-%s" % (static_pod, args["name"])
        api = PodApi(auth_params(args))

        text = remote_read(self, manifest, task_vars)
        if text is None:
            aside_text = remote_read(self, aside, task_vars)
            hint = (" It is in %s (an interrupted restart?): move it back with 'mv %s %s'" % (aside, aside, manifest)
                    if aside_text is not None else "")
            raise NodeOpsError("static pod manifest %s does not exist, so %s cannot be restarted.%s"
                               % (manifest, static_pod, hint), static_pod=static_pod)
        try:
            binary = _cert_renewal.manifest_binary(yaml.safe_load(text), manifest)
        except yaml.YAMLError as exc:
            raise NodeOpsError("%s is not valid YAML (%s); the kubelet cannot run it either. %s"
                               % (manifest, exc, _cert_renewal.MANIFEST_FIX), path=manifest)
        if args["wait_for"] == "node":
            return self._restart_proved_on_node(args, static_pod, manifest, aside, binary)
        # The containers of before must be known, or any container would count as new afterwards.
        seen = {}

        def mirror_read():
            seen["pod"] = api.read(args["namespace"], mirror)
            return seen["pod"] is not None

        self._wait(mirror_read, args["start_timeout"], args["poll_interval"],
                   "the API server to answer for mirror pod %s before the restart (nothing was changed)" % mirror,
                   {"why": api.last_error})
        before_pod = seen["pod"] or {}
        uid = ((before_pod.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/config.hash")
        before_uid = (before_pod.get("metadata") or {}).get("uid")
        old_ids = [cid for cid in _cert_renewal.pod_containers(before_pod).values() if cid]
        result = dict(changed=True, static_pod=static_pod, mirror_pod="%s/%s" % (args["namespace"], mirror),
                      manifest=manifest, containers_before=old_ids, containers_after=[], pids_before=[],
                      stopped_after=None, ready_after=None)
        result["pids_before"] = self._pids(uid, binary)
        if self._task.check_mode:
            result["msg"] = "check mode: would move %s out, wait for the kubelet to stop it, move it back and " \
                            "wait for a new Ready container" % manifest
            return result

        start = _utcnow()
        self._run(["mkdir", "-p", args["aside_dir"]], "create %s" % args["aside_dir"])
        self._run(["mv", manifest, aside], "move %s out to %s" % (manifest, args["aside_dir"]))
        stop_state = {}

        def stopped():
            # The kubelet has really stopped the pod when its processes are gone and it deleted the mirror pod
            # (it does so once the pod is terminated). While the API server is down (restarting kube-apiserver
            # or etcd), the processes are the only witness.
            pids = self._pids(uid, binary)
            if pids:
                stop_state["why"] = "%s processes still running: %s" % (binary, pids)
                return False
            pod = api.read(args["namespace"], mirror)
            if pod and (pod.get("metadata") or {}).get("uid") == before_uid:
                stop_state["why"] = "processes gone, but the kubelet has not deleted mirror pod %s yet" % mirror
                return False
            return True

        try:
            self._wait(stopped, args["stop_timeout"], args["poll_interval"],
                       "the kubelet to stop %s (its %s processes gone, its mirror pod deleted)" % (static_pod, binary),
                       stop_state)
            result["stopped_after"] = _cert_renewal.seconds_since(start)
        finally:
            self._run(["mv", aside, manifest], "move %s back" % manifest)
        back = _utcnow()

        state = {}
        old_pids = set(result["pids_before"])

        def ready():
            pod = api.read(args["namespace"], mirror)
            state["pod"] = pod
            if pod is None:
                state["why"] = "the API server does not answer (%s)" % api.last_error
                return False
            ok, state["why"] = _cert_renewal.pod_ready_again(pod, old_ids)
            if ok:
                pids = self._pids(uid, binary)
                state["pids"] = pids
                if not pids or set(pids) & old_pids:
                    ok, state["why"] = False, "no new %s process on the node yet (%s)" % (binary, pids)
            return ok

        try:
            self._wait(ready, args["start_timeout"], args["poll_interval"],
                       "mirror pod %s to be Running and Ready as a new container" % mirror, state)
        except NodeOpsError as exc:
            exc.details.update(static_pod=static_pod, manifest_restored=True)
            raise
        result["ready_after"] = _cert_renewal.seconds_since(back)
        result["containers_after"] = [cid for cid in _cert_renewal.pod_containers(state["pod"]).values() if cid]
        result["pids_after"] = state.get("pids", [])
        result["msg"] = "%s stopped in %ss and was Running and Ready again as a new container %ss after its " \
                        "manifest was back" % (static_pod, result["stopped_after"], result["ready_after"])
        return result

    def _restart_proved_on_node(self, args, static_pod, manifest, aside, binary):
        """The restart without the API server: the node's processes and the component's health endpoint."""
        url = args["health_url"] or _cert_renewal.HEALTH_URLS.get(static_pod)
        if not url:
            raise NodeOpsError("no health endpoint is known for static pod %s; set health_url to the URL its "
                               "probes ask on the node" % static_pod, static_pod=static_pod)
        old_pids = self._pids("", binary)
        result = dict(changed=True, static_pod=static_pod, mirror_pod=None, manifest=manifest, wait_for="node",
                      health_url=url, containers_before=[], containers_after=[], pids_before=old_pids,
                      pids_after=[], stopped_after=None, ready_after=None)
        if self._task.check_mode:
            result["msg"] = "check mode: would move %s out, wait until no %s process is left on the node, move it " \
                            "back and wait for a new process and a 200 from %s" % (manifest, binary, url)
            return result

        start = _utcnow()
        self._run(["mkdir", "-p", args["aside_dir"]], "create %s" % args["aside_dir"])
        self._run(["mv", manifest, aside], "move %s out to %s" % (manifest, args["aside_dir"]))
        stop_state = {}

        def stopped():
            pids = self._pids("", binary)
            stop_state["why"] = "%s processes still running: %s" % (binary, pids)
            return not pids

        try:
            self._wait(stopped, args["stop_timeout"], args["poll_interval"],
                       "the kubelet to stop %s (no %s process left on the node)" % (static_pod, binary), stop_state)
            result["stopped_after"] = _cert_renewal.seconds_since(start)
        finally:
            self._run(["mv", aside, manifest], "move %s back" % manifest)
        back = _utcnow()
        state = {}

        def ready():
            pids = self._pids("", binary)
            if not pids or set(pids) & set(old_pids):
                state["why"] = "no new %s process on the node yet (%s)" % (binary, pids)
                return False
            state["pids"] = pids
            healthy, state["why"] = _cert_renewal.health_answer(self._health(url))
            return healthy

        try:
            self._wait(ready, args["start_timeout"], args["poll_interval"],
                       "%s to run again as a new process that answers its health check" % static_pod, state)
        except NodeOpsError as exc:
            exc.details.update(static_pod=static_pod, manifest_restored=True)
            raise
        result["ready_after"] = _cert_renewal.seconds_since(back)
        result["pids_after"] = state.get("pids", [])
        result["msg"] = "%s stopped in %ss and ran again as a new process answering %s %ss after its manifest " \
                        "was back" % (static_pod, result["stopped_after"], url, result["ready_after"])
        return result

    def _health(self, url):
        rc, stdout, stderr = remote_command(self, [node_python(self._task_vars), "-c", _cert_renewal.NODE_HEALTH, url])
        if rc != 0:
            raise NodeOpsError("cannot run the health check on the node: %s" % (stderr or stdout).strip()[:300])
        return stdout

    def _run(self, argv, what):
        rc, stdout, stderr = remote_command(self, argv)
        if rc != 0:
            raise NodeOpsError("cannot %s on the node: %s" % (what, (stderr or stdout).strip()))

    def _pids(self, uid, binary):
        argv = [node_python(self._task_vars), "-c", _cert_renewal.NODE_PROCESSES,
                json.dumps({"uid": uid or "", "binary": binary})]
        rc, stdout, stderr = remote_command(self, argv)
        if rc != 0:
            raise NodeOpsError("cannot list the processes of the node: %s" % (stderr or stdout).strip()[:300])
        try:
            return json.loads(stdout)["pids"]
        except (ValueError, KeyError) as exc:
            raise NodeOpsError("the process listing of the node is not JSON (%s): %s" % (exc, stdout[:200]))

    @staticmethod
    def _wait(predicate, timeout, interval, what, state=None):
        """Poll ``predicate`` every ``interval`` seconds until it holds or ``timeout`` is over."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() > deadline:
                why = (state or {}).get("why")
                last = " (last: %s)" % why if why else ""
                raise NodeOpsError("timed out after %ss waiting for %s%s" % (timeout, what, last))
            time.sleep(interval)
