"""Run a command against the fault proxy: start it in front of a kubeconfig's API server, run the command, report.

    through_proxy.py --kubeconfig LAB_KUBECONFIG --rule '{"method": "GET", "path": "^/api/v1/nodes/w2$",
                     "action": "delay", "seconds": 1}' [--rule ...] --result FILE -- ansible-playbook ... \\
                     -e nodeops_kubeconfig={kubeconfig}

Every ``{kubeconfig}`` in the command becomes the path of the proxy's kubeconfig (the source kubeconfig's user,
the proxy's own CA). A rule is a JSON object: ``method``, ``path`` and ``action`` as FaultProxy.add_rule takes
them, and any of its options (``times``, ``every``, ``skip``, ``seconds``, ``query``, ``retry_after``). A rule
with ``at_task`` (words of a task's name) is added only when the command prints the banner of that task
(``TASK [...]``), before the task's module runs: faults from a step of the playbook on. The command's output
(standard output and error, merged) goes to this process's output. Once it ends, FILE receives, and the last line printed is, one
JSON object: ``rc``, ``seconds``, ``rules`` (each with how many requests it matched and acted on; a rule whose
task never ran says ``never_added``), ``not_ran`` (the ``at_task`` words whose task never ran), ``traceback``
(whether the output holds a Python traceback), ``requests``
(per verb and resource), ``statuses`` (what the clients got). Exits with the command's exit code.

Used by Molecule scenarios, where a playbook run as a command cannot hold the proxy in its own process.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

from faults.proxy import FaultProxy  # noqa: E402

RULE_KEYS = ("method", "path", "action")
OWN_KEYS = RULE_KEYS + ("at_task",)


def run_command(command, at_task=None, env=None, echo=None, timeout=None):
    """Run ``command``, its output merged and read line by line; returns ``(rc, output, not_ran)``.

    ``at_task`` maps words of a task's name to a function called once, when a line ``TASK [...]`` holding
    those words is printed (ansible-playbook prints a task's banner before it runs the task's module);
    ``not_ran`` lists the words whose task never ran. ``echo``: a file each line is written to as it comes.
    ``timeout``: seconds, after which the command is killed.
    """
    pending = dict(at_task or {})
    lines = []
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    watchdog = threading.Timer(timeout, proc.kill) if timeout else None
    if watchdog:
        watchdog.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if echo is not None:
                echo.write(line)
                echo.flush()
            if line.startswith("TASK ["):
                for words in [w for w in pending if w in line]:
                    pending.pop(words)()
        rc = proc.wait()
    finally:
        if watchdog:
            watchdog.cancel()
    return rc, "".join(lines), sorted(pending)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the API server behind the proxy")
    parser.add_argument("--rule", action="append", default=[], type=json.loads, help="a fault rule, as JSON")
    parser.add_argument("--result", required=True, help="file that receives the JSON result")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given")
    for rule in args.rule:
        if not isinstance(rule, dict) or any(key not in rule for key in RULE_KEYS):
            parser.error("a rule is a JSON object with %s: %r" % (", ".join(RULE_KEYS), rule))
    return args


def run(args):
    """Start the proxy with the rules, run the command, return the result (a dict)."""
    proxy = FaultProxy(args.kubeconfig)
    proxy.start()
    try:
        rules = []
        triggers = {}

        def add(spec):
            options = dict((key, value) for key, value in spec.items() if key not in OWN_KEYS)
            rules.append((spec, proxy.add_rule(spec["method"], spec["path"], spec["action"], **options)))

        for spec in args.rule:
            if spec.get("at_task"):
                triggers.setdefault(spec["at_task"], []).append(spec)
            else:
                add(spec)
        at_task = dict((words, (lambda specs=specs: [add(spec) for spec in specs]))
                       for words, specs in triggers.items())
        kubeconfig = proxy.write_kubeconfig()
        command = [word.replace("{kubeconfig}", kubeconfig) for word in args.command]
        started = time.monotonic()
        rc, output, not_ran = run_command(command, at_task=at_task, echo=sys.stdout)
        seconds = round(time.monotonic() - started, 1)
        proxy.settle()
        added = [pair[0] for pair in rules]
        return {
            "rc": rc,
            "seconds": seconds,
            "rules": ([dict(spec, matched=rule.matched, applied=rule.applied) for spec, rule in rules]
                      + [dict(spec, matched=0, applied=0, never_added=True) for spec in args.rule
                         if spec not in added]),
            "not_ran": not_ran,
            "traceback": "Traceback (most recent call last)" in output,
            "requests": dict(sorted(proxy.counts().items())),
            "statuses": dict((str(key), value) for key, value in sorted(proxy.statuses().items(), key=str)),
        }
    finally:
        proxy.stop()


def main(argv):
    args = parse_args(argv)
    result = run(args)
    with open(args.result, "w") as handle:
        json.dump(result, handle, indent=2, sort_keys=True)
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=True))
    return result["rc"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
