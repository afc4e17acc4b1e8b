// language-go is berth's Go language host (installed as pulumi-language-go): the official one is not
// served as a Go module. It serves Pulumi's LanguageRuntime gRPC protocol for `runtime: go` projects:
// Run builds the program with `go build` and runs the binary with the engine's addresses, the stack and
// its config in the environment variables the Pulumi Go SDK reads (pulumi.Env*).
//
// Not supported: the `binary` and `buildTarget` runtime options, debugging, installing dependencies
// (`go build` downloads what go.mod requires), reporting plugins required by the program's modules (the
// engine loads berth's plugin when the program first registers a berth resource).
//
// Usage: pulumi-language-go [-flags] [engine address]; prints the port it serves on.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// pulumiVersion is the Pulumi SDK version the host is built from (scripts/setup/go-tool.sh sets it).
var pulumiVersion = "dev"

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu     sync.Mutex
	engine string
	// runs ends the running programs: at the engine's Cancel (endRuns) or when the host is stopped.
	runs     context.Context
	endRuns  context.CancelFunc
	programs sync.WaitGroup
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engine = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(pulumiVersion, "v")}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies succeeds without doing anything: `go build` fetches the modules go.mod requires.
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	version, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: gobin, Version: strings.TrimPrefix(strings.TrimSpace(string(version)), "go")}, nil
}

// Cancel interrupts the running program (SIGINT), as at Ctrl-C; the SDK then stops registering resources.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.endRuns()
	return &emptypb.Empty{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	h.programs.Add(1)
	defer h.programs.Done()
	h.mu.Lock()
	engine := h.engine
	h.mu.Unlock()
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	h.log(ctx, engine, "Compiling the program ...")
	binary, err := build(dir)
	if binary != "" {
		defer os.Remove(binary)
	}
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := programEnv(req, engine)
	if err != nil {
		return nil, err
	}
	// Ends at the engine's Cancel, at the host's stop, or when the engine gives up on this request.
	runCtx, stop := context.WithCancel(h.runs)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd := exec.CommandContext(runCtx, binary, req.GetArgs()...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == constant.ExitStatusLoggedError:
		// The program has shown its error through the engine already.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program did not run to its end: %v", err)}, nil
	}
}

// build compiles the Go program in dir to a temporary binary; go's own messages go to the engine (stderr).
func build(dir string) (string, error) {
	if files, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(files) == 0 {
		return "", fmt.Errorf("no Go files in %s to build", dir)
	}
	f, err := os.CreateTemp("", "pulumi-go.*")
	if err != nil {
		return "", err
	}
	f.Close()
	cmd := exec.Command("go", "build", "-buildvcs=false", "-trimpath", "-o", f.Name(), ".")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return f.Name(), fmt.Errorf("go build in %s failed: %w", dir, err)
	}
	return f.Name(), nil
}

// programEnv is the host's environment plus what the Pulumi Go SDK reads to connect to the engine
// (pulumi.RunWithContext's defaults), each set only when the request has a value for it.
func programEnv(req *pulumirpc.RunRequest, engine string) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	for _, kv := range [][2]string{
		{pulumi.EnvOrganization, req.GetOrganization()},
		{pulumi.EnvProject, req.GetProject()},
		{pulumi.EnvPulumiRootDirectory, req.GetInfo().GetRootDirectory()},
		{pulumi.EnvStack, req.GetStack()},
		{pulumi.EnvConfig, string(config)},
		{pulumi.EnvConfigSecretKeys, string(secretKeys)},
		{pulumi.EnvDryRun, strconv.FormatBool(req.GetDryRun())},
		{pulumi.EnvParallel, strconv.Itoa(int(req.GetParallel()))},
		{pulumi.EnvMonitor, req.GetMonitorAddress()},
		{pulumi.EnvEngine, engine},
	} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env, nil
}

// log shows a status line in the engine's output; a failure to show it changes nothing.
func (h *host) log(ctx context.Context, engine, message string) {
	conn, err := grpc.NewClient(engine, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = pulumirpc.NewEngineClient(conn).Log(ctx, &pulumirpc.LogRequest{Severity: pulumirpc.LogSeverity_INFO, Message: message, Ephemeral: true})
}

func main() {
	stopped, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := &host{}
	// `[-flag=value...] [engine address]`: the engine passes flags (tracing, runtime options) that this host ignores.
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			h.engine = arg
		}
	}
	h.runs, h.endRuns = context.WithCancel(stopped)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-go:", err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(400 << 20))
	pulumirpc.RegisterLanguageRuntimeServer(server, h)
	go func() { _ = server.Serve(listener) }()
	// Plugins announce their port as the first line of stdout.
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	// The CLI stops plugins with a signal when it is done: running programs are interrupted first.
	<-stopped.Done()
	h.programs.Wait()
}
