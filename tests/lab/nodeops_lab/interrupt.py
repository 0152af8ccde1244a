# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command, and kill it the way a lost terminal or controller would once a chosen line appears in its output.

    interrupt.py --when REGEX --output FILE [--grace SECONDS] -- ansible-playbook ...

The command runs in a process group of its own; its output (stdout and stderr) is copied to FILE line by
line. When a line matches REGEX, the whole group gets SIGTERM, and SIGKILL once GRACE seconds (default 5)
have passed, so that no worker of the playbook is left to go on with the node. Prints one JSON object:
``interrupted``, ``line`` (the line that matched), ``signals`` (those sent) and ``rc``. Exits 0 when the
command was interrupted, 1 when it ended before the line appeared.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--when", required=True, help="regular expression of the line that triggers the kill")
    parser.add_argument("--output", required=True, help="file that receives the command's output")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given")
    return args


def signal_group(pgid, signum, sent):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return
    sent.append(signal.Signals(signum).name)


def main(argv):
    args = parse_args(argv)
    pattern = re.compile(args.when)
    # Unbuffered output, so that the line is seen when the playbook prints it and not a block later.
    env = dict(os.environ, PYTHONUNBUFFERED="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, universal_newlines=True, bufsize=1)
    matched = threading.Event()
    result = {"interrupted": False, "line": None, "signals": [], "rc": None}

    def copy_output():
        with open(args.output, "w") as out:
            for line in proc.stdout:
                out.write(line)
                out.flush()
                if not matched.is_set() and pattern.search(line):
                    result["line"] = line.strip()
                    matched.set()

    reader = threading.Thread(target=copy_output, daemon=True)
    reader.start()
    while proc.poll() is None and not matched.wait(0.2):
        pass
    if matched.is_set():
        result["interrupted"] = True
        signal_group(proc.pid, signal.SIGTERM, result["signals"])
        try:
            proc.wait(timeout=args.grace)
        except subprocess.TimeoutExpired:
            pass
        # The playbook's workers share its group: none of them may go on with the node.
        signal_group(proc.pid, signal.SIGKILL, result["signals"])
    result["rc"] = proc.wait()
    reader.join(timeout=10)
    print(json.dumps(result))
    return 0 if result["interrupted"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
