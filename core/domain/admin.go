package domain

import "time"

// Role is what an admin may do.
type Role string

// The roles. An organization admin manages its one organization; the
// platform's super admin has none, and may list and delete any.
const (
	RoleOrgAdmin   Role = "org_admin"
	RoleSuperAdmin Role = "super_admin"
)

// Admin is an account: an organization's admin, or the super admin.
type Admin struct {
	ID           ID
	Email        Email
	PasswordHash string
	Role         Role
	OrgID        ID // empty for the super admin
	CreatedAt    time.Time
	// CredentialsVersion increases on every password change; tokens carry
	// the version they were issued under and die when it moves on.
	CredentialsVersion int64
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
}

// OrgCreation says who may create organizations.
type OrgCreation string

// The creation policies: anyone (the API reference's default), or only the
// super admin.
const (
	CreationOpen      OrgCreation = "open"
	CreationSuperOnly OrgCreation = "superadmin"
)
