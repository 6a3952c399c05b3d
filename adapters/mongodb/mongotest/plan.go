package mongotest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
)

// AssertIndexed explains a find with filter and asserts the store answers
// it through an index.
func AssertIndexed(t testing.TB, st *mongodb.Store, db, coll string, filter bson.Raw) {
	t.Helper()
	where := fmt.Sprintf("%s.%s %v", db, coll, filter)
	var out bson.M
	err := st.Database().Client().Database(db).RunCommand(context.Background(), bson.D{
		{Key: "explain", Value: bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: filter}}},
	}).Decode(&out)
	require.NoError(t, err, where)
	plan := fmt.Sprint(out["queryPlanner"])
	if st.SingleWriter() {
		assert.Equal(t, true, out["filterPushdown"], "the store pushes the filter down to SQLite: %s", where)
		assert.Regexp(t, `SEARCH \S+ USING INDEX \S+__id_ \(<expr>=\?\)`, plan, "SQLite searches the _id index: %s: %s", where, plan)
		assert.NotContains(t, plan, "detail=SCAN", "SQLite never scans: %s: %s", where, plan)
		return
	}
	raw, err := bson.MarshalExtJSON(bson.D{{Key: "p", Value: out["queryPlanner"]}}, false, false)
	require.NoError(t, err)
	var doc struct{ P map[string]any }
	require.NoError(t, json.Unmarshal(raw, &doc))
	qp := doc.P
	stages := planStages(qp)
	switch {
	case qp["winningPlan"] != nil: // MongoDB
		assert.NotContains(t, stages, "COLLSCAN", "MongoDB never scans: %s: %s", where, plan)
		assert.True(t, slices.ContainsFunc(stages, func(s string) bool { return strings.Contains(s, "IXSCAN") || strings.Contains(s, "IDHACK") }),
			"MongoDB looks the _id up in its index: %s: %s", where, plan)
	case qp["Plan"] != nil: // PostgreSQL under DocumentDB (FerretDB 2)
		assert.NotContains(t, stages, "Seq Scan", "PostgreSQL never scans: %s: %s", where, plan)
		assert.Contains(t, stages, "Index Scan _id_", "PostgreSQL searches the _id index: %s: %s", where, plan)
	default:
		t.Fatalf("an explain orgd does not know: %s: %v", where, out)
	}
}

// planStages lists every stage of an explain's plan tree: MongoDB's
// stage names, or PostgreSQL's node types with their index.
func planStages(plan map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			if s, ok := n["stage"].(string); ok {
				out = append(out, s)
			}
			if s, ok := n["Node Type"].(string); ok {
				if idx, ok := n["Index Name"].(string); ok {
					s += " " + idx
				}
				out = append(out, s)
			}
			for _, child := range n {
				walk(child)
			}
		case []any:
			for _, child := range n {
				walk(child)
			}
		}
	}
	walk(plan)
	return out
}
