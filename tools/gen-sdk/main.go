// gen-sdk writes a berth SDK from schema.json with Pulumi's own code generators. The CLI's
// `pulumi package gen-sdk` runs them through the language hosts, whose official builds are not
// served as Go modules; the generator libraries are, so this calls them directly.
//
// Usage: gen-sdk <python|go> <schema.json> <output dir>
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"golang.org/x/mod/modfile"
)

const pulumiSDK = "github.com/pulumi/pulumi/sdk/v3"

// pulumiVersion is the Pulumi version gen-sdk is built from (scripts/setup/go-tool.sh sets it).
var pulumiVersion = "dev"

// noExternalPackages is the loader the binder and generators require; berth's schema refers to no
// other package, so every request for one is an error.
type noExternalPackages struct{}

func (noExternalPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("schema refers to external package %q", pkg)
}

func (noExternalPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("schema refers to external package %q", d.Name)
}

func (noExternalPackages) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("schema refers to external package %q", pkg)
}

func (noExternalPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, fmt.Errorf("schema refers to external package %q", d.Name)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: gen-sdk <python|go> <schema.json> <output dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "gen-sdk:", err)
		os.Exit(1)
	}
}

func run(language, schemaPath, outDir string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	loader := noExternalPackages{}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("schema does not bind: %s", diags.Error())
	}
	var files map[string][]byte
	switch language {
	case "python":
		files, err = python.GeneratePackage("berth gen-sdk", pkg, nil, loader)
	case "go":
		files, err = generateGo(pkg, spec.Language["go"])
	default:
		err = fmt.Errorf("no generator for %q (python, go)", language)
	}
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(outDir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// generateGo adds the go.mod the generator writes only for packages that declare supportPack (which
// would change the Python SDK too): the schema's go.modulePath, requiring the Pulumi Go SDK this
// tool was built with, the version the CLI and the language host are built from (`go mod tidy` adds
// the go line and the rest).
func generateGo(pkg *schema.Package, info schema.RawMessage) (map[string][]byte, error) {
	files, err := gogen.GeneratePackage("berth gen-sdk", pkg, nil)
	if err != nil {
		return nil, err
	}
	var goInfo struct {
		ModulePath string `json:"modulePath"`
	}
	if err := json.Unmarshal(info, &goInfo); err != nil || goInfo.ModulePath == "" {
		return nil, errors.New("schema.json's language.go has no modulePath")
	}
	var mod modfile.File
	if err := mod.AddModuleStmt(goInfo.ModulePath); err != nil {
		return nil, err
	}
	if err := mod.AddRequire(pulumiSDK, pulumiVersion); err != nil {
		return nil, err
	}
	if files["go.mod"], err = mod.Format(); err != nil {
		return nil, err
	}
	return files, nil
}
