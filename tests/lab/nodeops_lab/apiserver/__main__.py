"""Command line of the simulated Kubernetes API server (a test-lab simulation).

    PYTHONPATH=tests/lab python -m nodeops_lab.apiserver --port 16443 --state-dir .lab \
        --seed tests/lab/seeds/api-only.yaml --time-scale 0.1
"""

import argparse
import asyncio
import logging
import sys

from .server import Server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m nodeops_lab.apiserver",
                                     description="nodeops lab: simulated Kubernetes API server")
    parser.add_argument("--port", type=int, default=16443, help="HTTPS port (listens on 0.0.0.0)")
    parser.add_argument("--state-dir", default=".lab", help="directory for pki/, tokens.csv, kubeconfig, pid file")
    parser.add_argument("--seed", help="multi-document YAML of objects to create at start")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplier for every simulated delay (1.0 = real-world timings)")
    parser.add_argument("--advertise-host", action="append", default=[],
                        help="extra DNS name or IP for the serving certificate (repeatable)")
    parser.add_argument("--kubernetes-version", default=None,
                        help="version reported by /version and simulated kubelets (default v1.30.2)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.WARNING),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    server = Server(args.port, args.state_dir, seed=args.seed, time_scale=args.time_scale,
                    advertise_hosts=args.advertise_host, kubernetes_version=args.kubernetes_version)
    try:
        asyncio.run(server.run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
