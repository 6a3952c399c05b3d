package usecase

import (
	"encoding/json"

	"orgd/core/domain"
)

// This file is what creates and updates share about an organization's
// metadata and external id: their input, checked, and what an event says
// of a change to them.

// MetadataInput sets an organization's metadata (each a JSON merge patch:
// a key set to null is removed; nil: unchanged) and its external id
// (nil: unchanged; empty: removed).
type MetadataInput struct {
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	ExternalID      *string
}

// given reports whether in sets anything.
func (in MetadataInput) given() bool {
	return in.PublicMetadata != nil || in.PrivateMetadata != nil || in.ExternalID != nil
}

// metadataChange is in, checked.
type metadataChange struct {
	public, private domain.MetadataPatch
	externalID      *string
}

// ErrNoExternalIDs says this Service keeps no external ids.
var ErrNoExternalIDs = domain.Errorf(domain.CodeUnsupported, "External ids are not kept on this deployment")

func (s *Service) parseMetadata(in MetadataInput) (metadataChange, error) {
	var ch metadataChange
	var err error
	if in.PublicMetadata != nil {
		if ch.public, err = domain.ParseMetadataPatch("public_metadata", in.PublicMetadata); err != nil {
			return ch, err
		}
	}
	if in.PrivateMetadata != nil {
		if ch.private, err = domain.ParseMetadataPatch("private_metadata", in.PrivateMetadata); err != nil {
			return ch, err
		}
	}
	if in.ExternalID != nil {
		if s.extIDs.reg == nil {
			return ch, ErrNoExternalIDs
		}
		id := *in.ExternalID
		if id != "" {
			if id, err = domain.NewExternalID(id); err != nil {
				return ch, err
			}
		}
		ch.externalID = &id
	}
	return ch, nil
}

// metadataUpdate is what an update does to an organization's metadata
// and external id, decided when it is planned (the organization is the
// operation's until it commits, so it is what the commit applies).
type metadataUpdate struct {
	Public         domain.Metadata `json:"public,omitempty"`
	Private        domain.Metadata `json:"private,omitempty"`
	PublicChanged  []string        `json:"public_changed,omitempty"`
	PrivateChanged []string        `json:"private_changed,omitempty"`
	// SetsExternalID says ExternalID is the new one (empty: removed).
	SetsExternalID bool   `json:"sets_external_id,omitempty"`
	ExternalID     string `json:"external_id,omitempty"`
	OldExternalID  string `json:"old_external_id,omitempty"`
}

// planMetadata is the metadata update ch makes to org, or an error if
// the result would break a limit.
func planMetadata(org domain.Organization, ch metadataChange) (metadataUpdate, error) {
	u := metadataUpdate{Public: org.PublicMetadata, Private: org.PrivateMetadata}
	var err error
	if ch.public != nil {
		if u.Public, u.PublicChanged, err = org.PublicMetadata.Apply("public_metadata", ch.public); err != nil {
			return u, err
		}
	}
	if ch.private != nil {
		if u.Private, u.PrivateChanged, err = org.PrivateMetadata.Apply("private_metadata", ch.private); err != nil {
			return u, err
		}
	}
	if ch.externalID != nil && *ch.externalID != org.ExternalID {
		u.SetsExternalID, u.ExternalID, u.OldExternalID = true, *ch.externalID, org.ExternalID
	}
	return u, nil
}

// changes reports whether u changes anything.
func (u metadataUpdate) changes() bool {
	return len(u.PublicChanged) > 0 || len(u.PrivateChanged) > 0 || u.SetsExternalID
}

// apply is org with u applied, by operation op.
func (u metadataUpdate) apply(org domain.Organization, op domain.ID) domain.Organization {
	id := org.ExternalID
	if u.SetsExternalID {
		id = u.ExternalID
	}
	return org.Updated(u.Public, u.Private, id, op)
}

// claim is the claim u takes on a new external id, if it sets one.
func (u metadataUpdate) claim(org domain.Organization) []domain.Claim {
	if !u.SetsExternalID || u.ExternalID == "" {
		return nil
	}
	return []domain.Claim{{Kind: domain.KindExternalID, Key: u.ExternalID, OrgID: org.ID, Op: org.Pending.ID}}
}

// updatedEvent is what organization.updated says: the public keys
// changed with their new values (null: removed), the private keys
// changed (never their values), and the external id's change.
type updatedEvent struct {
	PublicMetadata  map[string]json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata []string                   `json:"private_metadata,omitempty"`
	ExternalID      *fromTo                    `json:"external_id,omitempty"`
}

type fromTo struct {
	From *string `json:"from"`
	To   *string `json:"to"`
}

// event is u's organization.updated, or none if it changes nothing.
func (u metadataUpdate) event() []domain.Event {
	if !u.changes() {
		return nil
	}
	e := updatedEvent{PrivateMetadata: u.PrivateChanged}
	if len(u.PublicChanged) > 0 {
		e.PublicMetadata = map[string]json.RawMessage{}
		for _, k := range u.PublicChanged {
			v, ok := u.Public[k]
			if !ok {
				v = json.RawMessage("null")
			}
			e.PublicMetadata[k] = v
		}
	}
	if u.SetsExternalID {
		e.ExternalID = &fromTo{From: optional(u.OldExternalID), To: optional(u.ExternalID)}
	}
	return []domain.Event{happened(EventOrgUpdated, e)}
}
