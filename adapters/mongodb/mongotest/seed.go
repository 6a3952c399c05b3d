package mongotest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"orgd/core/domain"
)

// OrgCounts is the organization counts a benchmark runs at: those
// ORGD_BENCH_ORGS lists (comma-separated), or def.
func OrgCounts(tb testing.TB, def ...int) []int {
	tb.Helper()
	s := os.Getenv("ORGD_BENCH_ORGS")
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			tb.Fatalf("ORGD_BENCH_ORGS=%q: not a list of positive counts", s)
		}
		out = append(out, n)
	}
	return out
}

// SeedOrg is the i-th of a batch of active organizations seeded through
// the ports (org000000, org000001, …), each with its one owner, made at
// now: what a create leaves, without its claims.
func SeedOrg(i int, now time.Time) domain.Organization {
	name, err := domain.NewOrgName(fmt.Sprintf("org%06d", i))
	if err != nil {
		panic(err)
	}
	return domain.Organization{
		ID: domain.NewID(now), Name: name, CreatedAt: now, State: domain.StateActive, Version: 1,
		Owners:  []domain.Owner{{AdminID: domain.NewID(now), Email: domain.Email(fmt.Sprintf("a%d@x.test", i)), Since: now}},
		Members: 1, Roster: []int{1},
	}
}
