"""The files of the unattended renewal, rendered by Ansible's own templating from the role's templates and defaults."""

import configparser
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.nodeops.kubernetes.plugins.module_utils import _cert_renewal_job as job

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLE = os.path.join(ROOT, "roles", "cert_renewal")
TEMPLATES = ("nodeops-cert-renewal.py.j2", "nodeops-cert-renewal.json.j2", "nodeops-cert-renewal.service.j2",
             "nodeops-cert-renewal.timer.j2")

# Rendered in a fresh interpreter: the lookup of the job needs Ansible's plugin loader, which must own the
# ansible_collections package before anything imports it.
RENDER = """
import json, os, sys, yaml
collections, role, names, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
sys.path.insert(0, collections)
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([collections])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
variables = {}
for name in ("defaults", "vars"):
    with open(os.path.join(role, name, "main.yml")) as handle:
        variables.update((k, trust_as_template(v) if isinstance(v, str) else v)
                         for k, v in yaml.safe_load(handle).items())
variables.update(role_path=role, ansible_managed="Ansible managed", kube_node_name="lab-cp2",
                 inventory_hostname="lab-cp2", groups={"kube_control_plane": ["lab-cp1", "lab-cp2", "lab-cp3"]})
variables.update(overrides)
out = {}
for name in names:
    with open(os.path.join(role, "templates", name)) as handle:
        source = handle.read()
    out[name] = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source),
                                                                             escape_backslashes=False)
print(json.dumps(out))
"""


def render(**overrides):
    collections = [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "nodeops"))][0]
    proc = subprocess.run([sys.executable, "-c", RENDER, collections, ROLE, json.dumps(TEMPLATES),
                           json.dumps(overrides)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def files():
    return render()


def unit(text):
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def test_the_installed_job_is_the_collections_module_with_the_nodes_python(files, tmp_path):
    script = files["nodeops-cert-renewal.py.j2"]
    with open(job.__file__) as handle:
        source = handle.read()
    # no shebang: the service runs it with the node's python (cert_renewal_timer_python)
    assert script.startswith("# Ansible managed\n")
    assert source.strip() in script
    assert script.rstrip().endswith('if __name__ == "__main__":\n    sys.exit(main())')
    path = tmp_path / "cert-renewal"
    path.write_text(script)
    proc = subprocess.run([sys.executable, "-S", str(path), "--help"], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0 and "--dry-run" in proc.stdout


def test_the_settings_are_the_roles_values_and_the_job_knows_every_key(files, tmp_path):
    settings = json.loads(files["nodeops-cert-renewal.json.j2"])
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert set(settings) - {"_comment"} <= set(job.DEFAULTS)
    assert settings["node"] == "lab-cp2"
    for key in ("threshold_days", "certificates", "kubeadm", "kubectl", "pki_dir", "kubeconfig_dir", "manifests_dir",
                "backup_dir", "admin_kubeconfig_copies", "stop_timeout", "start_timeout", "poll_interval"):
        assert settings[key] == defaults["cert_renewal_" + key], key
    assert settings["status_file"] == defaults["cert_renewal_timer_status_file"]
    path = tmp_path / "settings.json"
    path.write_text(files["nodeops-cert-renewal.json.j2"])
    assert job.load_settings(str(path))["threshold_days"] == 30


def test_the_settings_carry_the_operators_choices():
    settings = json.loads(render(cert_renewal_threshold_days=45, cert_renewal_certificates=["apiserver"],
                                 cert_renewal_admin_kubeconfig_copies=["/root/.kube/config"])
                          ["nodeops-cert-renewal.json.j2"])
    assert settings["threshold_days"] == 45 and settings["certificates"] == ["apiserver"]
    assert settings["admin_kubeconfig_copies"] == ["/root/.kube/config"]


def test_the_service_runs_the_job_once_with_its_settings_under_its_own_name(files):
    service = unit(files["nodeops-cert-renewal.service.j2"])
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"] == ("/usr/bin/python3 /usr/local/libexec/nodeops/cert-renewal "
                                               "--config /etc/nodeops/cert-renewal.json")
    assert service["Service"]["SyslogIdentifier"] == "nodeops-cert-renewal"
    assert int(service["Service"]["TimeoutStartSec"]) > 8 * (180 + 300)
    assert files["nodeops-cert-renewal.service.j2"].startswith("#\n# Ansible managed\n#")


@pytest.mark.parametrize("host, hour", [("lab-cp1", "03"), ("lab-cp2", "04"), ("lab-cp3", "05"), ("other", "03")])
def test_the_timers_of_the_control_plane_nodes_are_one_hour_apart(host, hour):
    timer = unit(render(inventory_hostname=host)["nodeops-cert-renewal.timer.j2"])
    assert timer["Timer"]["OnCalendar"] == "*-*-* %s:00:00" % hour
    assert timer["Timer"]["RandomizedDelaySec"] == "1800" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "nodeops-cert-renewal.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_the_default_schedule_is_a_calendar_event_systemd_accepts(files):
    timer = unit(files["nodeops-cert-renewal.timer.j2"])
    try:
        proc = subprocess.run(["systemd-analyze", "calendar", timer["Timer"]["OnCalendar"]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, check=False)
    except OSError:
        pytest.skip("systemd-analyze is not on this machine")
    assert proc.returncode == 0, proc.stderr
