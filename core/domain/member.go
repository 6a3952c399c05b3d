package domain

import (
	"fmt"
	"time"
)

// OrgRole is what a member may do in its organization.
type OrgRole string

// The roles, from most to least trusted. The organization's creator is
// its first owner; there is always at least one owner.
const (
	RoleOwner  OrgRole = "owner"
	RoleAdmin  OrgRole = "admin"
	RoleMember OrgRole = "member"
)

// NewOrgRole validates s as a role.
func NewOrgRole(s string) (OrgRole, error) {
	switch r := OrgRole(s); r {
	case RoleOwner, RoleAdmin, RoleMember:
		return r, nil
	}
	return "", Errorf(CodeInvalid, fmt.Sprintf("role must be owner, admin or member, not %q", s))
}

func (r OrgRole) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// Action is something a member may be allowed to do in its organization.
type Action string

// The actions the rights table (Allowed) decides.
const (
	ActListMembers     Action = "list the members"
	ActOwnCredentials  Action = "change one's own email or password"
	ActLeave           Action = "leave"
	ActRename          Action = "rename the organization"
	ActInvite          Action = "invite"
	ActListInvitations Action = "list the invitations"
	ActRevoke          Action = "revoke an invitation"
	ActChangeRole      Action = "change a member's role"
	ActRemove          Action = "remove a member"
	ActDelete          Action = "delete the organization"
	ActReadEvents      Action = "read the organization's events"
	ActManageWebhooks  Action = "manage the organization's webhooks"
	ActEditMetadata    Action = "edit the organization's metadata"
)

// Allowed is the rights table: whether a member with role may take act,
// on members with the roles targets (an invitation's role; a role
// change's current and new role; a removed member's role):
//
//	anyone (no role needed):  read an organization (GET /org/get)
//	any member:               list the members, change its own email and
//	                          password, leave
//	admin and owner:          rename; invite, remove, and change the role
//	                          of members and admins; list and revoke
//	                          invitations; read the organization's events;
//	                          register and manage its webhook endpoints;
//	                          edit its public and private metadata
//	owner only:               all of that with owners as targets; delete
//	                          the organization
//
// That the last owner can neither leave nor be removed nor be demoted is
// a rule about the organization, not the caller (LastOwner).
func Allowed(role OrgRole, act Action, targets ...OrgRole) bool {
	switch act {
	case ActListMembers, ActOwnCredentials, ActLeave:
		return role.rank() > 0
	case ActDelete:
		return role == RoleOwner
	case ActRename, ActListInvitations, ActReadEvents, ActManageWebhooks, ActEditMetadata:
		return role.rank() >= RoleAdmin.rank()
	case ActInvite, ActRevoke, ActChangeRole, ActRemove:
		if role.rank() < RoleAdmin.rank() {
			return false
		}
		for _, t := range targets {
			if t == RoleOwner && role != RoleOwner {
				return false
			}
		}
		return true
	}
	return false
}

// ErrNotAllowed is returned when a member's role does not allow what it
// asked (the rights table, Allowed).
func ErrNotAllowed(role OrgRole, act Action) *Error {
	return Errorf(CodeForbidden, fmt.Sprintf("A member with role %s may not %s", role, act))
}

// ErrLastOwner refuses what would leave an organization without an owner.
var ErrLastOwner = Errorf(CodeConflict, "An organization keeps at least one owner: make another member owner first")

// Member is one member of an organization, as the organization's roster
// lists it (and its admin account holds it).
type Member struct {
	AdminID  ID        `json:"admin_id"`
	Email    Email     `json:"email"`
	Role     OrgRole   `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
	// EmailOp is the operation that took the claim the member holds on
	// its email (its Claim.Op).
	EmailOp ID `json:"email_op,omitempty"`
}

// Equal reports whether m and o say the same (times compared as
// instants).
func (m Member) Equal(o Member) bool {
	return m.AdminID == o.AdminID && m.Email == o.Email && m.Role == o.Role && m.JoinedAt.Equal(o.JoinedAt) && m.EmailOp == o.EmailOp
}

// EmailClaim is the claim m, of organization org, holds on its email.
func (m Member) EmailClaim(org ID) Claim {
	return Claim{Kind: KindEmail, Key: string(m.Email), OrgID: org, AdminID: m.AdminID, Op: m.EmailOp}
}

// Owner is one of an organization's owners, and since when.
type Owner struct {
	AdminID ID
	Email   Email
	Since   time.Time
}

// RosterPageSize is how many members one page of an organization's roster
// holds at most. The roster is read a page at a time (a point read), so
// listing members costs the same whatever their number.
const RosterPageSize = 100

// Invitation asks someone, by email, to join an organization with a role.
// Only a digest of its secret is kept; whoever holds the token (its ID and
// the secret) may accept it once, before it expires.
type Invitation struct {
	ID        ID        `json:"id"`
	OrgID     ID        `json:"org_id"`
	Email     Email     `json:"email"`
	Role      OrgRole   `json:"role"`
	Digest    string    `json:"digest,omitempty"` // of the secret (see usecase's invitation tokens)
	CreatedBy ID        `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// The statuses of a listed invitation.
const (
	InvitationPending = "pending" // its token may still be accepted
	InvitationExpired = "expired" // it may not; it is removed after the retention
)

// Status is the invitation's status at now.
func (inv Invitation) Status(now time.Time) string {
	if now.Before(inv.ExpiresAt) {
		return InvitationPending
	}
	return InvitationExpired
}

// ErrInvitationInvalid answers any invitation token that cannot be used:
// unknown, wrong, expired, used, revoked, or its organization gone. One
// answer for all, so a guesser learns nothing.
var ErrInvitationInvalid = Errorf(CodeUnauthorized, "Invitation is invalid or has expired")

// ErrInvitationExists says an invitation of that id is stored already.
var ErrInvitationExists = Errorf(CodeConflict, "An invitation of that id exists")

// ErrInvitationNotFound says an organization has no invitation of that
// id (a revocation's answer; an accept answers ErrInvitationInvalid).
var ErrInvitationNotFound = Errorf(CodeNotFound, "No such invitation in this organization")

// ErrMemberNotFound answers a membership change naming no member of the
// caller's organization.
var ErrMemberNotFound = Errorf(CodeNotFound, "No such member in this organization")
