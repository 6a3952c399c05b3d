package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

func TestGetOrg(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		wantCode domain.Code
	}{
		{name: "get-200", query: "Acme"},
		{name: "get-200-other-case", query: "aCME"},
		{name: "get-404", query: "nobody", wantCode: domain.CodeNotFound},
		{name: "get-422-empty", query: "", wantCode: domain.CodeInvalid},
		{name: "get-422-operator", query: `{"$ne":null}`, wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			want := h.create(t, "Acme", "a@x.com", "12345678")
			got, err := h.svc.GetOrg(context.Background(), tc.query)
			if tc.wantCode != "" {
				assert.Equal(t, tc.wantCode, domain.ErrorCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}
