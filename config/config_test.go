package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"orgd/adapters/token"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil), t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, ":8000", c.HTTPAddr)
	assert.Equal(t, "org_master", c.MongoDatabase)
	assert.Equal(t, "./data", c.DataDir)
	assert.Equal(t, "HS256", c.Algorithm)
	assert.Equal(t, 30, c.AccessTokenExpireMinutes)
	assert.Equal(t, int64(100), c.RateLimitPerMinute)
	assert.Equal(t, "development", c.Environment)
	assert.True(t, c.Embedded())
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "orgd.yaml")
	require.NoError(t, os.WriteFile(file, []byte("RATE_LIMIT_PER_MINUTE: 7\nACCESS_TOKEN_EXPIRE_MINUTES: 9\nLOG_LEVEL: warn\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("ACCESS_TOKEN_EXPIRE_MINUTES=11\nLOG_LEVEL=debug\n"), 0o600))
	c, err := config.Load(env(map[string]string{"CONFIG_FILE": file, "LOG_LEVEL": "error"}), dir)
	require.NoError(t, err)
	assert.Equal(t, int64(7), c.RateLimitPerMinute, "config file over defaults")
	assert.Equal(t, 11, c.AccessTokenExpireMinutes, ".env over config file")
	assert.Equal(t, "error", c.LogLevel, "environment over .env")
}

func TestValidate(t *testing.T) {
	strong := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "dev-without-secret", env: map[string]string{}},
		{name: "prod-ok", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong}},
		{name: "prod-missing-secret", env: map[string]string{"ENVIRONMENT": "production"}, wantErr: "SECRET_KEY"},
		{name: "prod-short-secret", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": "short"}, wantErr: "SECRET_KEY"},
		{name: "prod-example-secret", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": "your_secret_key"}, wantErr: "SECRET_KEY"},
		{name: "bad-algorithm", env: map[string]string{"ALGORITHM": "none"}, wantErr: "ALGORITHM"},
		{name: "bad-environment", env: map[string]string{"ENVIRONMENT": "staging"}, wantErr: "ENVIRONMENT"},
		{name: "bad-rate", env: map[string]string{"RATE_LIMIT_PER_MINUTE": "0"}, wantErr: "RATE_LIMIT_PER_MINUTE"},
		{name: "bad-ttl", env: map[string]string{"ACCESS_TOKEN_EXPIRE_MINUTES": "-1"}, wantErr: "ACCESS_TOKEN_EXPIRE_MINUTES"},
		{name: "bad-database", env: map[string]string{"MONGODB_DATABASE": "a.b"}, wantErr: "MONGODB_DATABASE"},
		{name: "bad-log-level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "bad-log-format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: "LOG_FORMAT"},
		{name: "retry-schedule", env: map[string]string{"WEBHOOK_RETRY_SCHEDULE": "1s, 2s,5m"}},
		{name: "bad-retry-schedule", env: map[string]string{"WEBHOOK_RETRY_SCHEDULE": "1s,soon"}, wantErr: "WEBHOOK_RETRY_SCHEDULE"},
		{name: "negative-retry", env: map[string]string{"WEBHOOK_RETRY_SCHEDULE": "-1s"}, wantErr: "WEBHOOK_RETRY_SCHEDULE"},
		{name: "retention-shorter-than-retries", env: map[string]string{"EVENT_RETENTION": "72h"}, wantErr: "EVENT_RETENTION (72h0m0s) must be at least twice"},
		{name: "retention-forever", env: map[string]string{"EVENT_RETENTION": "0"}},
		{name: "bad-allow-private", env: map[string]string{"WEBHOOK_ALLOW_PRIVATE": "maybe"}, wantErr: "WEBHOOK_ALLOW_PRIVATE"},
		{name: "trusted-proxies", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1/32"}},
		{name: "bad-trusted-proxies", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.1"}, wantErr: "TRUSTED_PROXIES"},
		{name: "bad-org-creation", env: map[string]string{"ORG_CREATION": "closed"}, wantErr: "ORG_CREATION"},
		{name: "superadmin-creation-needs-superadmin", env: map[string]string{"ORG_CREATION": "superadmin"}, wantErr: "FIRST_SUPERADMIN_EMAIL"},
		{name: "superadmin-half-set", env: map[string]string{"FIRST_SUPERADMIN_EMAIL": "r@x.io"}, wantErr: "go together"},
		{name: "dev-weak-superadmin-ok", env: map[string]string{"FIRST_SUPERADMIN_EMAIL": "r@x.io", "FIRST_SUPERADMIN_PASSWORD": "secure_password"}},
		{name: "prod-weak-superadmin", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong, "FIRST_SUPERADMIN_EMAIL": "r@x.io", "FIRST_SUPERADMIN_PASSWORD": "secure_password"}, wantErr: "FIRST_SUPERADMIN_PASSWORD"},
		{name: "prod-short-superadmin", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong, "FIRST_SUPERADMIN_EMAIL": "r@x.io", "FIRST_SUPERADMIN_PASSWORD": "Sh0rt!pass"}, wantErr: "FIRST_SUPERADMIN_PASSWORD"},
		{name: "prod-strong-superadmin", env: map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong, "FIRST_SUPERADMIN_EMAIL": "r@x.io", "FIRST_SUPERADMIN_PASSWORD": "a-long-unguessable-phrase"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env), t.TempDir())
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestDevSecret(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := config.DevSecret(dir)
	require.NoError(t, err)
	assert.True(t, created)
	assert.GreaterOrEqual(t, len(k1), config.MinSecretLen)
	st, err := os.Stat(filepath.Join(dir, "secret_key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	k2, created, err := config.DevSecret(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, k1, k2, "kept across restarts")
}

func TestConfigFileNamedInDotEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "orgd.yaml")
	require.NoError(t, os.WriteFile(file, []byte("RATE_LIMIT_PER_MINUTE: 42\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("CONFIG_FILE="+file+"\n"), 0o600))
	c, err := config.Load(env(nil), dir)
	require.NoError(t, err)
	assert.Equal(t, int64(42), c.RateLimitPerMinute)
}

// TestEveryKeyIsDeclaredWhole: each setting's one declaration (its field's
// tags) names its key and says what it means, so --help, the defaults and
// the README's table cannot miss one.
func TestEveryKeyIsDeclaredWhole(t *testing.T) {
	require.Len(t, config.Keys, 31)
	seen := map[string]bool{}
	for _, k := range config.Keys {
		assert.NotEmpty(t, k.Meaning, k.Name)
		assert.False(t, seen[k.Name], "%s declared twice", k.Name)
		seen[k.Name] = true
	}
	c, err := config.Load(func(string) string { return "" }, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, ":8000", c.HTTPAddr, "defaults come from the tags")
	assert.Equal(t, 15*time.Second, c.ShutdownTimeout)
}

// TestAlgorithmsAreTheTokenAdapters: ALGORITHM accepts exactly what the
// token adapter can sign with.
func TestAlgorithmsAreTheTokenAdapters(t *testing.T) {
	assert.Equal(t, token.Algorithms, config.Algorithms)
	for _, alg := range config.Algorithms {
		_, err := token.New(alg, []byte("0123456789abcdef0123456789abcdef"))
		assert.NoError(t, err, alg)
	}
}

func TestAllowPrivateWebhooks(t *testing.T) {
	strong := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong}, false},
		{map[string]string{"ENVIRONMENT": "production", "SECRET_KEY": strong, "WEBHOOK_ALLOW_PRIVATE": "true"}, true},
		{map[string]string{"WEBHOOK_ALLOW_PRIVATE": "false"}, false},
	} {
		c, err := config.Load(env(tc.env), t.TempDir())
		require.NoError(t, err)
		got, err := c.AllowPrivateWebhooks()
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%v", tc.env)
	}
}
