// Package config loads orgd's settings. It is the only place that reads
// the environment. Precedence, highest first: environment variables, a
// .env file in the working directory, an optional config file (CONFIG_FILE),
// defaults. Key names follow the original design's .env.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"orgd/core/domain"
)

// Config is orgd's configuration. Each setting is declared once, here:
// its key (mapstructure), its default and its meaning (help), from which
// Keys, --help and the defaults Load applies all come.
type Config struct {
	HTTPAddr                 string        `mapstructure:"HTTP_ADDR" default:":8000" help:"address the API listens on"`
	MongoURI                 string        `mapstructure:"MONGODB_URI" help:"MongoDB connection string; empty starts the embedded store"`
	MongoDatabase            string        `mapstructure:"MONGODB_DATABASE" default:"org_master" help:"master database (metadata); tenant collections in <it>_t00 … _t31"`
	DataDir                  string        `mapstructure:"DATA_DIR" default:"./data" help:"embedded store files and the generated development secret"`
	EmbeddedAddr             string        `mapstructure:"EMBEDDED_MONGODB_ADDR" help:"also expose the embedded store on this TCP address (e.g. 127.0.0.1:27017)"`
	SecretKey                string        `mapstructure:"SECRET_KEY" help:"HMAC key for access tokens; generated into DATA_DIR in development"`
	Algorithm                string        `mapstructure:"ALGORITHM" default:"HS256" help:"token signing algorithm: HS256, HS384 or HS512"`
	AccessTokenExpireMinutes int           `mapstructure:"ACCESS_TOKEN_EXPIRE_MINUTES" default:"30" help:"access token lifetime"`
	InvitationTTL            time.Duration `mapstructure:"INVITATION_TTL" default:"72h" help:"how long an invitation to join an organization may be accepted"`
	InvitationRetention      time.Duration `mapstructure:"INVITATION_RETENTION" default:"168h" help:"how long an expired invitation stays listed (as expired) before the periodic sweep removes it; 0: until revoked"`
	RateLimitPerMinute       int64         `mapstructure:"RATE_LIMIT_PER_MINUTE" default:"100" help:"requests per minute per client IP"`
	Environment              string        `mapstructure:"ENVIRONMENT" default:"development" help:"development or production"`
	LogLevel                 string        `mapstructure:"LOG_LEVEL" default:"info" help:"debug, info, warn or error"`
	LogFormat                string        `mapstructure:"LOG_FORMAT" default:"text" help:"text or json"`
	ShutdownTimeout          time.Duration `mapstructure:"SHUTDOWN_TIMEOUT" default:"15s" help:"how long in-flight requests may finish after SIGTERM"`
	MaxConnections           int           `mapstructure:"MAX_CONNECTIONS" default:"0" help:"client connections held at once (idle keep-alives are closed first); 0: three quarters of the file limit"`
	HTTPIdleTimeout          time.Duration `mapstructure:"HTTP_IDLE_TIMEOUT" default:"30s" help:"how long an idle keep-alive connection is kept"`
	InstanceID               string        `mapstructure:"INSTANCE_ID" help:"this orgd's name in the single-writer lease of a store only one may write; empty: the host name"`
	StoreTimeout             time.Duration `mapstructure:"STORE_TIMEOUT" default:"5s" help:"how long a request waits for an unreachable store before 503"`
	TrustedProxies           string        `mapstructure:"TRUSTED_PROXIES" help:"comma-separated CIDRs whose X-Forwarded-For entries are believed"`
	RedisURL                 string        `mapstructure:"REDIS_URL" help:"Redis for rate-limit and login back-off counters shared by all replicas; empty: in memory"`
	OrgCreation              string        `mapstructure:"ORG_CREATION" default:"open" help:"who may create organizations: open or superadmin"`
	SuperAdminEmail          string        `mapstructure:"FIRST_SUPERADMIN_EMAIL" help:"super admin created at startup if missing"`
	SuperAdminPassword       string        `mapstructure:"FIRST_SUPERADMIN_PASSWORD" help:"its password (production: 12+ characters, not an example)"`
	OperationLease           time.Duration `mapstructure:"OPERATION_LEASE" default:"30s" help:"how long the owner of a create, rename or delete has to finish it before a request, the periodic sweep or another replica takes it over"`
	IntegrityCheckInterval   time.Duration `mapstructure:"INTEGRITY_CHECK_INTERVAL" default:"10m" help:"how often orgd audits the whole store (orgd check) for its metrics; 0: never"`
	EventRetention           time.Duration `mapstructure:"EVENT_RETENTION" default:"2160h" help:"how long the event log keeps an event (2160h: 90 days); older ones are pruned a bounded batch per sweep; 0: kept forever"`
	WebhookRetrySchedule     string        `mapstructure:"WEBHOOK_RETRY_SCHEDULE" default:"5s,5m,30m,2h,5h,10h,14h,20h,24h" help:"how long webhook delivery waits after each failed attempt (comma-separated durations; the first attempt is immediate, and after the last retry fails the endpoint is disabled)"`
	WebhookAllowPrivate      string        `mapstructure:"WEBHOOK_ALLOW_PRIVATE" help:"true lets webhook endpoints be on loopback, private or link-local addresses, and plain http; empty: true in development, false in production"`
	PprofAddr                string        `mapstructure:"PPROF_ADDR" help:"serve /debug/pprof on this separate address (e.g. 127.0.0.1:6060); empty: off"`
	ConfigFile               string        `mapstructure:"CONFIG_FILE" help:"optional config file (yaml, json, toml or env) with these keys"`

	// TrustedNets is TrustedProxies parsed.
	TrustedNets []*net.IPNet `mapstructure:"-"`
}

// Algorithms are the values ALGORITHM accepts: the HMAC algorithms the
// token adapter signs with (a test holds the two to the same list).
var Algorithms = []string{"HS256", "HS384", "HS512"}

// Key describes one setting.
type Key struct {
	Name, Default, Meaning string
}

// Keys lists every setting with its default, in Config's order, for
// --help and the README.
var Keys = keysOf(reflect.TypeFor[Config]())

func keysOf(t reflect.Type) []Key {
	var out []Key
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, Key{Name: name, Default: f.Tag.Get("default"), Meaning: f.Tag.Get("help")})
	}
	return out
}

// keyProblem is one line of a decoding error: 'KEY' and what is wrong.
var keyProblem = regexp.MustCompile(`'([A-Z_]+)' (.+)`)

// oneLine turns viper's multi-line decoding error into one line naming each
// key: "SHUTDOWN_TIMEOUT: time: missing unit in duration".
func oneLine(err error) error {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if m := keyProblem.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			parts = append(parts, m[1]+": "+m[2])
		}
	}
	if len(parts) == 0 {
		return fmt.Errorf("config: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return fmt.Errorf("config: %s", strings.Join(parts, "; "))
}

// FatalFormat is how a fatal error is to be printed: "json" when LOG_FORMAT
// says so in the environment, else "text". It reads the environment alone,
// since a fatal error may be that the rest of the configuration is bad.
func FatalFormat(getenv func(string) string) string {
	if strings.EqualFold(strings.TrimSpace(getenv("LOG_FORMAT")), "json") {
		return "json"
	}
	return "text"
}

// Load reads the configuration. getenv is os.Getenv in production; dir is
// where .env is looked for.
func Load(getenv func(string) string, dir string) (Config, error) {
	v := viper.New()
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
	}
	// .env is read first, because it may name the config file; it is
	// applied over the config file below.
	dotenv := viper.New()
	if path := filepath.Join(dir, ".env"); fileExists(path) {
		dotenv.SetConfigFile(path)
		dotenv.SetConfigType("env")
		if err := dotenv.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf(".env: %w", err)
		}
	}
	file := getenv("CONFIG_FILE")
	if file == "" {
		file = dotenv.GetString("CONFIG_FILE")
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	for _, k := range Keys {
		// An empty value means unset, in .env as in the environment.
		if val := dotenv.GetString(k.Name); val != "" {
			v.Set(k.Name, val)
		}
	}
	for _, k := range Keys {
		if val, ok := lookup(getenv, k.Name); ok {
			v.Set(k.Name, val)
		}
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return Config{}, oneLine(err)
	}
	c.Environment = strings.ToLower(strings.TrimSpace(c.Environment))
	nets, err := parseCIDRs(c.TrustedProxies)
	if err != nil {
		return Config{}, err
	}
	c.TrustedNets = nets
	if c.InstanceID == "" {
		c.InstanceID, _ = os.Hostname()
	}
	return c, c.Validate()
}

func parseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR (e.g. 10.0.0.0/8)", part)
		}
		out = append(out, n)
	}
	return out, nil
}

func lookup(getenv func(string) string, k string) (string, bool) {
	val := getenv(k)
	return val, val != ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Production reports whether orgd runs in production.
func (c Config) Production() bool { return c.Environment == "production" }

// Embedded reports whether orgd runs its own store.
func (c Config) Embedded() bool { return c.MongoURI == "" }

// TokenTTL is the access token lifetime.
func (c Config) TokenTTL() time.Duration {
	return time.Duration(c.AccessTokenExpireMinutes) * time.Minute
}

// RetrySchedule parses WEBHOOK_RETRY_SCHEDULE.
func (c Config) RetrySchedule() ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(c.WebhookRetrySchedule, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("WEBHOOK_RETRY_SCHEDULE must be comma-separated durations such as 5s,5m,30m, not %q", c.WebhookRetrySchedule)
		}
		out = append(out, d)
	}
	return out, nil
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// AllowPrivateWebhooks says whether webhook endpoints may be on
// non-public addresses and plain http: WEBHOOK_ALLOW_PRIVATE, or outside
// production if it is empty.
func (c Config) AllowPrivateWebhooks() (bool, error) {
	if c.WebhookAllowPrivate == "" {
		return !c.Production(), nil
	}
	b, err := strconv.ParseBool(c.WebhookAllowPrivate)
	if err != nil {
		return false, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE must be true or false, not %q", c.WebhookAllowPrivate)
	}
	return b, nil
}

// MinSecretLen is the shortest SECRET_KEY production accepts.
const MinSecretLen = 32

// exampleSecrets are values copied from examples that must never sign
// production tokens.
var exampleSecrets = []string{"your_secret_key", "changeme", "change-me", "secret", "please-change-me"}

// Validate checks the values.
func (c Config) Validate() error {
	var errs []error
	switch c.Environment {
	case "development", "production", "test":
	default:
		errs = append(errs, fmt.Errorf("ENVIRONMENT must be development or production, not %q", c.Environment))
	}
	if !slices.Contains(Algorithms, c.Algorithm) {
		errs = append(errs, fmt.Errorf("ALGORITHM must be one of %s, not %q", strings.Join(Algorithms, ", "), c.Algorithm))
	}
	if c.AccessTokenExpireMinutes <= 0 {
		errs = append(errs, errors.New("ACCESS_TOKEN_EXPIRE_MINUTES must be positive"))
	}
	if host, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: %w (want host:port or :port)", c.HTTPAddr, err))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 || strings.ContainsAny(host, " /") {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: not a host:port", c.HTTPAddr))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, errors.New("MAX_CONNECTIONS must be 0 (automatic) or more"))
	}
	if c.HTTPIdleTimeout <= 0 {
		errs = append(errs, errors.New("HTTP_IDLE_TIMEOUT must be positive"))
	}
	if c.InvitationTTL < time.Minute {
		errs = append(errs, errors.New("INVITATION_TTL must be 1m or more"))
	}
	if c.InvitationRetention < 0 {
		errs = append(errs, errors.New("INVITATION_RETENTION must be 0 (until revoked) or more"))
	}
	if c.OperationLease < time.Second {
		errs = append(errs, errors.New("OPERATION_LEASE must be 1s or more"))
	}
	if c.EventRetention != 0 && c.EventRetention < time.Hour {
		errs = append(errs, errors.New("EVENT_RETENTION must be 0 (forever) or 1h or more"))
	}
	if c.IntegrityCheckInterval < 0 {
		errs = append(errs, errors.New("INTEGRITY_CHECK_INTERVAL must be 0 (never) or more"))
	}
	if schedule, err := c.RetrySchedule(); err != nil {
		errs = append(errs, err)
	} else if total := sum(schedule); c.EventRetention != 0 && c.EventRetention < 2*total {
		errs = append(errs, fmt.Errorf("EVENT_RETENTION (%s) must be at least twice WEBHOOK_RETRY_SCHEDULE's total (%s): events would be pruned before a failing endpoint is given up on", c.EventRetention, total))
	}
	if _, err := c.AllowPrivateWebhooks(); err != nil {
		errs = append(errs, err)
	}
	if c.RateLimitPerMinute <= 0 {
		errs = append(errs, errors.New("RATE_LIMIT_PER_MINUTE must be positive"))
	}
	if c.MongoDatabase == "" || strings.ContainsAny(c.MongoDatabase, "/\\. \"$\x00") {
		errs = append(errs, fmt.Errorf("MONGODB_DATABASE %q is not a valid database name", c.MongoDatabase))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be text or json, not %q", c.LogFormat))
	}
	return errors.Join(append(errs, c.validateAccess()...)...)
}

// validateAccess checks who may do what: the creation policy, the super
// admin and, in production, the token secret.
func (c Config) validateAccess() []error {
	var errs []error
	if c.OrgCreation != string(domain.CreationOpen) && c.OrgCreation != string(domain.CreationSuperOnly) {
		errs = append(errs, fmt.Errorf("ORG_CREATION must be open or superadmin, not %q", c.OrgCreation))
	}
	if (c.SuperAdminEmail == "") != (c.SuperAdminPassword == "") {
		errs = append(errs, errors.New("FIRST_SUPERADMIN_EMAIL and FIRST_SUPERADMIN_PASSWORD go together"))
	}
	if c.OrgCreation == string(domain.CreationSuperOnly) && c.SuperAdminEmail == "" {
		errs = append(errs, errors.New("ORG_CREATION=superadmin needs FIRST_SUPERADMIN_EMAIL and FIRST_SUPERADMIN_PASSWORD"))
	}
	if c.Production() && c.SuperAdminPassword != "" && weakPassword(c.SuperAdminPassword, c.SuperAdminEmail) {
		errs = append(errs, fmt.Errorf("FIRST_SUPERADMIN_PASSWORD is weak: use at least %d characters, not an example value or the email", MinSuperAdminPasswordLen))
	}
	if c.Production() {
		switch {
		case c.SecretKey == "":
			errs = append(errs, errors.New("SECRET_KEY is required in production"))
		case len(c.SecretKey) < MinSecretLen:
			errs = append(errs, fmt.Errorf("SECRET_KEY must be at least %d bytes in production", MinSecretLen))
		case isExampleSecret(c.SecretKey):
			errs = append(errs, errors.New("SECRET_KEY is an example value; generate one (openssl rand -hex 32)"))
		}
	}
	return errs
}

// MinSuperAdminPasswordLen is the shortest FIRST_SUPERADMIN_PASSWORD
// production accepts.
const MinSuperAdminPasswordLen = 12

var examplePasswords = []string{"secure_password", "password", "changeme", "admin", "123456789012", "password1234"}

func weakPassword(pw, email string) bool {
	if len(pw) < MinSuperAdminPasswordLen || strings.EqualFold(pw, email) {
		return true
	}
	for _, e := range examplePasswords {
		if strings.EqualFold(pw, e) {
			return true
		}
	}
	return false
}

func isExampleSecret(s string) bool {
	for _, e := range exampleSecrets {
		if strings.EqualFold(s, e) {
			return true
		}
	}
	return false
}

// ParseLevel parses LOG_LEVEL.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// DevSecretFile is where DevSecret keeps the development signing key.
func DevSecretFile(dataDir string) string { return filepath.Join(dataDir, "secret_key") }

// DevSecret returns the development signing key kept in DATA_DIR
// (DevSecretFile), creating it (mode 0600) on first use so tokens survive
// restarts.
func DevSecret(dataDir string) (key []byte, created bool, err error) {
	p := DevSecretFile(dataDir)
	if b, err := os.ReadFile(p); err == nil { //nolint:gosec // p is under the operator's DATA_DIR
		s := strings.TrimSpace(string(b))
		if len(s) >= MinSecretLen {
			return []byte(s), false, nil
		}
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, false, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, err
	}
	s := hex.EncodeToString(b[:])
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		return nil, false, err
	}
	return []byte(s), true, nil
}
