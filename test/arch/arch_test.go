// Package arch checks the dependency rule: core imports only the standard
// library, itself and ports; ports only core/domain; core/usecase reaches
// the world only through ports; and nothing inward imports an adapter.
package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func imports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(filepath.Join("../..", dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			out[path] = append(out[path], strings.Trim(imp.Path.Value, `"`))
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, out, "no Go files under %s", dir)
	return out
}

func stdlib(path string) bool {
	return !strings.Contains(strings.Split(path, "/")[0], ".") && !strings.HasPrefix(path, "orgd")
}

func TestCoreImportsOnlyStdlib(t *testing.T) {
	for file, imps := range imports(t, "core") {
		for _, imp := range imps {
			assert.True(t, stdlib(imp) || strings.HasPrefix(imp, "orgd/core/") || imp == "orgd/ports",
				"%s imports %s", file, imp)
		}
	}
}

func TestPortsImportOnlyCore(t *testing.T) {
	for file, imps := range imports(t, "ports") {
		for _, imp := range imps {
			assert.True(t, stdlib(imp) || imp == "orgd/core/domain", "%s imports %s", file, imp)
		}
	}
}

func TestCoreUsecaseSeesOnlyPorts(t *testing.T) {
	for file, imps := range imports(t, "core/usecase") {
		for _, imp := range imps {
			assert.False(t, strings.HasPrefix(imp, "orgd/adapters") || strings.HasPrefix(imp, "orgd/config"), "%s imports %s", file, imp)
		}
	}
}

func TestCommandsImportNoTestCode(t *testing.T) {
	for file, imps := range imports(t, "cmd") {
		for _, imp := range imps {
			assert.False(t, strings.HasPrefix(imp, "orgd/test/") || imp == "testing", "%s imports %s", file, imp)
		}
	}
}

// TestAdaptersImportNoOtherAdapter: each adapter wraps one thing; what one
// needs of another it declares as an interface of its own (the mongodb
// adapter's Embedded), and cmd/orgd wires them. Test helpers (mongotest)
// are exempt.
func TestAdaptersImportNoOtherAdapter(t *testing.T) {
	for file, imps := range imports(t, "adapters") {
		rel := strings.TrimPrefix(filepath.ToSlash(file), "../../")
		own := strings.Join(strings.SplitN(rel, "/", 3)[:2], "/") // adapters/<name>
		if strings.Contains(rel, "/mongotest/") {
			continue
		}
		for _, imp := range imps {
			if strings.HasPrefix(imp, "orgd/adapters/") {
				assert.True(t, strings.HasPrefix(imp, "orgd/"+own+"/") || imp == "orgd/"+own, "%s imports %s", file, imp)
			}
		}
	}
}

// TestConfigImportsOnlyDomain: the configuration is read before anything
// is wired; of orgd it knows only the domain's values (the creation
// policy, the login policy), no adapter, port or use case.
func TestConfigImportsOnlyDomain(t *testing.T) {
	for file, imps := range imports(t, "config") {
		for _, imp := range imps {
			assert.True(t, !strings.HasPrefix(imp, "orgd") || imp == "orgd/core/domain", "%s imports %s", file, imp)
		}
	}
}

// TestSnapshotArchiveIsPlainGo: checking an archive (orgd snapshot verify)
// needs neither the store nor the driver.
func TestSnapshotArchiveIsPlainGo(t *testing.T) {
	for file, imps := range imports(t, "adapters/embedded/archive") {
		for _, imp := range imps {
			assert.True(t, stdlib(imp), "%s imports %s", file, imp)
		}
	}
}
