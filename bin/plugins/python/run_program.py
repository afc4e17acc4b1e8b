"""Runs one Pulumi Python program for berth's language host (host.py): connects the SDK to the
engine and resource monitor, loads the stack's config, and runs the program in a stack."""
import argparse
import asyncio
import json
import logging
import os
import runpy
import sys
import traceback

import grpc
import pulumi
from pulumi import log
from pulumi.errors import RunError
from pulumi.runtime import reset_options, run_in_stack, set_all_config

EXIT_ALREADY_REPORTED = 32


def main():
    p = argparse.ArgumentParser()
    for name in ("monitor", "engine", "project", "stack", "organization", "pwd"):
        p.add_argument(f"--{name}", default="")
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("program")
    p.add_argument("args", nargs="*")
    a = p.parse_args()

    reset_options(project=a.project, monitor_address=a.monitor, engine_address=a.engine, stack=a.stack,
                  parallel=a.parallel, preview=a.dry_run, organization=a.organization or "organization")
    set_all_config(json.loads(os.environ.get("PULUMI_CONFIG") or "{}"),
                   json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]") or None)
    # A program imports its own modules from its directory.
    sys.path.insert(0, a.pwd or os.path.dirname(os.path.abspath(a.program)))
    sys.argv = [a.program, *a.args]
    # Unobserved failed tasks are reported through the engine, not as asyncio noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(a.program, run_name="__main__")))
    except RunError as e:
        log.error(str(e))
        sys.exit(EXIT_ALREADY_REPORTED)
    except grpc.RpcError as e:
        # The monitor going away means the engine is shutting down: nothing to report.
        if e.code() == grpc.StatusCode.UNAVAILABLE:
            sys.exit(0)
        log.error(f"RPC error: {e.details()}")
        sys.exit(EXIT_ALREADY_REPORTED)
    except Exception:  # noqa: BLE001 every program error is shown to the user, with its traceback
        log.error(f"Program failed with an unhandled exception:\n{traceback.format_exc()}")
        sys.exit(EXIT_ALREADY_REPORTED)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
