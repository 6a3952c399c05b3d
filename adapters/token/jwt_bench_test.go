package token_test

import (
	"testing"
	"time"

	"orgd/adapters/token"
)

func BenchmarkVerify(b *testing.B) {
	j, err := token.New("HS256", key)
	if err != nil {
		b.Fatal(err)
	}
	s, err := j.Issue(claims(time.Now().Truncate(time.Second).UTC()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Verify(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	j, err := token.New("HS256", key)
	if err != nil {
		b.Fatal(err)
	}
	c := claims(time.Now().Truncate(time.Second).UTC())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}
