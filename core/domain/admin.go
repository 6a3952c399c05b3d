package domain

import "time"

// Role is what an admin may do.
type Role string

// The kinds of account. A member of an organization (with its OrgRole
// there) belongs to one; the platform's super admin to none, and may list
// and delete any.
const (
	RoleOrgAdmin   Role = "org_admin"
	RoleSuperAdmin Role = "super_admin"
)

// Admin is an account: a member of an organization, or the super admin.
type Admin struct {
	ID           ID
	Email        Email
	PasswordHash string
	Role         Role
	OrgID        ID // empty for the super admin
	// CreatedAt is when it was made: when the member joined.
	CreatedAt time.Time
	// CredentialsVersion increases on every password change; tokens carry
	// the version they were issued under and die when it moves on.
	CredentialsVersion int64
	// OrgRole is its role in its organization (empty for the super admin).
	OrgRole OrgRole
	// EmailOp is the operation that took the claim it holds on its email.
	EmailOp ID
	// Page is the roster page of its organization that lists it.
	Page int
}

// Member is the account a as its organization's roster lists it.
func (a Admin) Member() Member {
	return Member{AdminID: a.ID, Email: a.Email, Role: a.OrgRole, JoinedAt: a.CreatedAt, EmailOp: a.EmailOp}
}

// TokenClaims is what an access token asserts.
type TokenClaims struct {
	AdminID            ID
	OrgID              ID // empty for the super admin
	Super              bool
	CredentialsVersion int64
	IssuedAt           time.Time
	ExpiresAt          time.Time
}

// Principal is an authenticated admin.
type Principal struct {
	AdminID ID
	OrgID   ID // empty for the super admin
	Super   bool
	// Email is the account's, as of this request.
	Email Email
	// OrgRole is its role in its organization, as of this request.
	OrgRole OrgRole
	// CredentialsVersion is the account's as its token carried it: an
	// operation that reads the account again refuses the request if a
	// password change has come between.
	CredentialsVersion int64
}

// OrgCreation says who may create organizations.
type OrgCreation string

// The creation policies: anyone (the API reference's default), or only the
// super admin.
const (
	CreationOpen      OrgCreation = "open"
	CreationSuperOnly OrgCreation = "superadmin"
)
