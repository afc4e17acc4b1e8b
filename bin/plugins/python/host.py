"""berth's Python language host: serves Pulumi's LanguageRuntime gRPC protocol for `runtime: python`
projects and runs each program in a child process (run_program.py), as the official host does, so
a program's crash or its event loop never takes the host down.

Supported: Pulumi.yaml `main` (a file or a directory with __main__.py) and the `virtualenv`
runtime option (the program runs on that virtualenv's python). Not supported: installing
dependencies (`pulumi install`), toolchains other than pip (poetry, uv), `typechecker`, reporting
plugins required by installed packages (the engine loads berth's plugin when the program first
registers a berth resource).
"""
import json
import os
import signal
import subprocess
import sys
from concurrent import futures

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2
from pulumi._version import _VERSION

# run_program.py exits with this code when it has already shown the user the error (engine log).
EXIT_ALREADY_REPORTED = 32
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_program.py")


def parse_args(argv):
    """`pulumi-language-python [-flag=value...] [engine-address]`: Go-style flags, then the address."""
    flags, engine = {}, ""
    for arg in argv:
        if arg.startswith("-"):
            name, _, value = arg.lstrip("-").partition("=")
            flags[name] = value or "true"
        elif arg != "--":
            engine = arg
    return flags, engine


def program_dir(req):
    info = req.info if req.HasField("info") else None
    return (info.program_directory if info else "") or req.pwd or os.getcwd()


def interpreter(req, flags, directory):
    """The program's own virtualenv when Pulumi.yaml names one, else the host's interpreter."""
    options = dict(req.info.options) if req.HasField("info") and req.info.HasField("options") else {}
    venv = options.get("virtualenv") or flags.get("virtualenv")
    if not venv:
        return sys.executable
    return os.path.join(venv if os.path.isabs(venv) else os.path.join(directory, venv), "bin", "python")


class Host(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, flags, engine):
        self.flags = flags
        self.engine = engine
        self.children = set()

    def Handshake(self, request, context):
        if request.engine_address:
            self.engine = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=_VERSION)

    def GetRequiredPlugins(self, request, context):
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse()

    def InstallDependencies(self, request, context):
        # Dependencies are installed by the user with pip into the program's virtualenv.
        return iter(())

    def RuntimeOptionsPrompts(self, request, context):
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request, context):
        version = ".".join(str(p) for p in sys.version_info[:3])
        return language_pb2.AboutResponse(executable=sys.executable, version=version)

    def GetProgramDependencies(self, request, context):
        return language_pb2.GetProgramDependenciesResponse()

    def Run(self, request, context):
        directory = program_dir(request)
        program = (request.info.entry_point if request.HasField("info") else "") or request.program or "."
        args = [interpreter(request, self.flags, directory), "-u", RUNNER,
                f"--monitor={request.monitor_address}", f"--engine={self.engine}",
                f"--project={request.project}", f"--stack={request.stack}",
                f"--organization={request.organization}", f"--parallel={request.parallel}",
                f"--pwd={directory}"]
        if request.dryRun:
            args.append("--dry-run")
        args += [os.path.join(directory, program), *request.args]
        env = dict(os.environ)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        try:
            child = subprocess.Popen(args, cwd=directory, env=env)
        except OSError as e:
            return language_pb2.RunResponse(error=f"Problem executing program (could not run {args[0]}): {e}")
        self.children.add(child)
        code = child.wait()
        self.children.discard(child)
        if code == EXIT_ALREADY_REPORTED:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            return language_pb2.RunResponse(error=f"Program exited due to signal {-code}")
        if code != 0:
            return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")
        return language_pb2.RunResponse()

    def Cancel(self, request, context):
        return empty_pb2.Empty()


def main():
    flags, engine = parse_args(sys.argv[1:])
    host = Host(flags, engine)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    # The CLI stops plugins with a signal when it is done: take any running program down too.
    def stop(*_):
        for child in list(host.children):
            child.kill()
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # Plugins announce their port as the first line of stdout.
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
