package usecase

import (
	"encoding/json"
	"time"

	"orgd/core/domain"
)

// EventView is an event as orgd shows it: in GET /org/events and GET
// /events, and as the data of a webhook delivery, the same JSON.
type EventView struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	OccurredAt string `json:"occurred_at"`
	// OrganizationID and OrganizationName are null for the events an
	// endpoint of every organization's events records of itself.
	OrganizationID   *string         `json:"organization_id"`
	OrganizationName *string         `json:"organization_name"`
	Actor            ActorView       `json:"actor"`
	Data             json.RawMessage `json:"data"`
	RequestID        *string         `json:"request_id"`
}

// ActorView is who asked for a change; ID and Email are null for orgd
// itself.
type ActorView struct {
	ID    *string `json:"id"`
	Email *string `json:"email"`
	Kind  string  `json:"kind"`
}

// ViewTime is how views write times: RFC 3339, UTC, to the second.
const ViewTime = "2006-01-02T15:04:05Z"

// ViewOf is e as orgd shows it.
func ViewOf(e domain.Event) EventView {
	return EventView{
		ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt.UTC().Format(ViewTime),
		OrganizationID: optional(string(e.OrgID)), OrganizationName: optional(e.OrgName),
		Actor:     ActorView{ID: optional(string(e.Actor.ID)), Email: optional(string(e.Actor.Email)), Kind: string(e.Actor.Kind)},
		Data:      e.Data,
		RequestID: optional(e.RequestID),
	}
}

// webhookPayload is the body of a webhook delivery: Standard Webhooks'
// {type, timestamp, data}, the data being the event's view.
type webhookPayload struct {
	Type      string    `json:"type"`
	Timestamp string    `json:"timestamp"`
	Data      EventView `json:"data"`
}

// payloadOf is the body delivering e (an error only if its data is not
// the JSON the core wrote).
func payloadOf(e domain.Event) ([]byte, error) {
	return json.Marshal(webhookPayload{Type: e.Type, Timestamp: e.OccurredAt.UTC().Format(time.RFC3339Nano), Data: ViewOf(e)})
}

// optional is s, or nil if it is empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
