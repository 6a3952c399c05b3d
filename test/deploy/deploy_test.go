// Package deploy checks the deployment files that no Docker engine runs
// here: the compose file's services and health checks, and that the
// Dockerfile builds the way CI builds.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"orgd/config"
)

type compose struct {
	Services map[string]struct {
		Image         string            `yaml:"image"`
		Build         any               `yaml:"build"`
		ContainerName string            `yaml:"container_name"`
		EnvFile       any               `yaml:"env_file"`
		Environment   map[string]string `yaml:"environment"`
		DependsOn     map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c))

	orgd, ok := c.Services["orgd"]
	require.True(t, ok, "an orgd service")
	assert.Equal(t, "org_mgmnt", orgd.ContainerName)
	assert.Equal(t, ".env", orgd.EnvFile)
	assert.NotNil(t, orgd.Build)
	assert.Contains(t, orgd.Environment["MONGODB_URI"], "mongodb://mongo:27017")
	assert.Equal(t, "production", orgd.Environment["ENVIRONMENT"], "compose runs production, whatever .env says")
	assert.Contains(t, orgd.Environment["SECRET_KEY"], ":?", "compose refuses to start without SECRET_KEY")
	assert.Equal(t, "service_healthy", orgd.DependsOn["mongo"].Condition, "orgd waits for a healthy MongoDB")
	assert.Contains(t, orgd.Healthcheck.Test, "healthcheck", "the binary checks itself")

	mongo, ok := c.Services["mongo"]
	require.True(t, ok, "a mongo service")
	assert.Equal(t, "mongo:8", mongo.Image)
	assert.Equal(t, "org_mongo", mongo.ContainerName)
	assert.Contains(t, strings.Join(mongo.Healthcheck.Test, " "), "rs.initiate", "the health check initiates the replica set")
	require.NotEmpty(t, mongo.Volumes)
	assert.Contains(t, c.Volumes, strings.Split(mongo.Volumes[0], ":")[0], "a named volume")

	redis, ok := c.Services["redis"]
	require.True(t, ok, "a redis service for shared rate limits")
	assert.NotEmpty(t, redis.Healthcheck.Test)
	assert.Equal(t, "service_healthy", orgd.DependsOn["redis"].Condition)
	assert.Equal(t, "redis://redis:6379/0", orgd.Environment["REDIS_URL"])
	for name, s := range c.Services {
		assert.NotEmpty(t, s.Healthcheck.Test, "%s has a health check", name)
	}
}

func TestDockerfileBuildsLikeCI(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	ci, err := os.ReadFile("../../.ci/run")
	require.NoError(t, err)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=`, "./cmd/orgd"} {
		assert.Contains(t, string(df), want)
		assert.Contains(t, string(ci), want)
	}
	assert.Contains(t, string(df), "USER nonroot")
	assert.Contains(t, string(df), "distroless/static")
	assert.Contains(t, string(df), "HEALTHCHECK")
	assert.Contains(t, string(df), "VOLUME /data", "the embedded store's files are a volume")
	ignore, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	for _, want := range []string{".git", ".env", "data/", "/orgd", "/orgbench"} {
		assert.Contains(t, string(ignore), want, ".dockerignore keeps %s out of the build context", want)
	}
}

func TestEnvExampleListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../.env.example")
	require.NoError(t, err)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, k := range config.Keys {
		assert.Contains(t, string(b), "\n"+k.Name+"=", ".env.example sets %s", k.Name)
		assert.Contains(t, string(readme), "`"+k.Name+"`", "the README's table has %s", k.Name)
	}
}

// TestDocsLinkNothingOutside checks that every relative link in the
// repository's Markdown stays inside it: a clone has nothing beside it.
func TestDocsLinkNothingOutside(t *testing.T) {
	files, err := filepath.Glob("../../*.md")
	require.NoError(t, err)
	more, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	link := regexp.MustCompile(`\]\(([^)#]+)`)
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			path := filepath.Join(filepath.Dir(f), target)
			rel, err := filepath.Rel("../..", path)
			require.NoError(t, err)
			assert.False(t, strings.HasPrefix(rel, ".."), "%s links outside the repository: %s", f, target)
			assert.FileExists(t, path, "%s links to a missing file: %s", f, target)
		}
	}
}

// The Taskfile must parse (a command with {{…}} in a YAML flow list does
// not) and every task say what it does.
func TestTaskfileParses(t *testing.T) {
	b, err := os.ReadFile("../../Taskfile.yml")
	require.NoError(t, err)
	var tf struct {
		Tasks map[string]struct {
			Desc string `yaml:"desc"`
			Cmds []any  `yaml:"cmds"`
		} `yaml:"tasks"`
	}
	require.NoError(t, yaml.Unmarshal(b, &tf))
	for _, name := range []string{"test", "cover", "hooks", "dev", "dev:test", "migrate:status", "migrate:down"} {
		assert.Contains(t, tf.Tasks, name)
	}
	for name, task := range tf.Tasks {
		assert.NotEmpty(t, task.Desc, name)
		assert.NotEmpty(t, task.Cmds, name)
	}
}

// The development override runs orgd from the mounted source under a
// watcher, and the suite in a Go container only when asked; production's
// file is checked by TestComposeFile.
func TestDevComposeOverride(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.dev.yml")
	require.NoError(t, err)
	var c struct {
		Services map[string]struct {
			Build       map[string]any    `yaml:"build"`
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Profiles    []string          `yaml:"profiles"`
			Entrypoint  []string          `yaml:"entrypoint"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &c))
	orgd := c.Services["orgd"]
	assert.Equal(t, "Dockerfile.dev", orgd.Build["dockerfile"])
	assert.Contains(t, orgd.Volumes, ".:/src", "the source is mounted")
	assert.Equal(t, "development", orgd.Environment["ENVIRONMENT"])
	df, err := os.ReadFile("../../Dockerfile.dev")
	require.NoError(t, err)
	assert.Contains(t, string(df), "github.com/air-verse/air@v", "a pinned watcher")
	_, err = os.Stat("../../.air.toml")
	require.NoError(t, err)
	test := c.Services["test"]
	assert.Equal(t, []string{"test"}, test.Profiles, "the suite runs only when asked")
	assert.Equal(t, []string{"go", "test"}, test.Entrypoint)
	assert.Contains(t, test.Volumes, ".:/src")
}
