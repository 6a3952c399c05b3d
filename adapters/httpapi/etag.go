package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
)

// This file is conditional requests (RFC 9110): an organization's answer
// carries its revision as a strong ETag; PUT /org/update and DELETE
// /org/delete honour If-Match (412 when the organization moved on),
// GET /org/get If-None-Match (304).

// etag is the entity tag of revision r: "<organization id>.<changes>".
func etag(r domain.Revision) string { return fmt.Sprintf(`"%s.%d"`, r.OrgID, r.Seq) }

// setETag sets the answer's ETag to org's revision.
func setETag(c *echo.Context, org domain.Organization) {
	c.Response().Header().Set("ETag", etag(org.Revision()))
}

// entityTags splits a list header's entity tags (RFC 9110 §8.8.3): each
// quoted, weak ones prefixed W/; "*" alone is any. ok is false for a
// malformed header.
func entityTags(v string) (tags []string, any, ok bool) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return nil, true, true
	}
	for v != "" {
		weak := strings.HasPrefix(v, "W/")
		rest := strings.TrimPrefix(v, "W/")
		if !strings.HasPrefix(rest, `"`) {
			return nil, false, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false, false
		}
		tag := rest[:end+2]
		if weak {
			tag = "W/" + tag
		}
		tags = append(tags, tag)
		v = strings.TrimSpace(rest[end+2:])
		if v == "" {
			break
		}
		if v[0] != ',' {
			return nil, false, false
		}
		v = strings.TrimSpace(v[1:])
	}
	return tags, false, len(tags) > 0
}

// revisionOf reads a strong tag orgd gave out; ok is false for any other.
func revisionOf(tag string) (domain.Revision, bool) {
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 2 {
		return domain.Revision{}, false
	}
	id, seq, found := strings.Cut(tag[1:len(tag)-1], ".")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !found || err != nil || n < 0 || !domain.ID(id).Valid() {
		return domain.Revision{}, false
	}
	return domain.Revision{OrgID: domain.ID(id), Seq: n}, true
}

// ifMatch reads If-Match: nil when absent or "*" (no condition on an
// organization that exists); otherwise the revisions it names, compared
// strongly: a weak tag, or one orgd did not give, matches none (the list
// is then empty, and the request fails its precondition).
func ifMatch(c *echo.Context) ([]domain.Revision, error) {
	vs := c.Request().Header.Values("If-Match")
	if len(vs) == 0 {
		return nil, nil
	}
	revs := []domain.Revision{}
	for _, v := range vs {
		tags, anyTag, ok := entityTags(v)
		if !ok {
			return nil, errStatus(http.StatusBadRequest, "If-Match must be * or a list of quoted entity tags")
		}
		if anyTag {
			return nil, nil
		}
		for _, t := range tags {
			if r, ok := revisionOf(t); ok {
				revs = append(revs, r)
			}
		}
	}
	return revs, nil
}

// notModified reports whether If-None-Match names org's current revision
// (weak comparison: W/ is ignored), or is "*".
func notModified(c *echo.Context, org domain.Organization) bool {
	for _, v := range c.Request().Header.Values("If-None-Match") {
		tags, anyTag, ok := entityTags(v)
		if !ok {
			continue
		}
		if anyTag {
			return true
		}
		for _, t := range tags {
			if r, ok := revisionOf(strings.TrimPrefix(t, "W/")); ok && r == org.Revision() {
				return true
			}
		}
	}
	return false
}
