package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// This file is an organization's members and invitations over HTTP.

// memberRequest is PUT /org/members's body.
type memberRequest struct {
	Email *string `json:"email"`
	Role  *string `json:"role"`
}

// emailRequest is DELETE /org/members's body.
type emailRequest struct {
	Email *string `json:"email"`
}

// idRequest is DELETE /org/invitations's body.
type idRequest struct {
	ID *string `json:"id"`
}

// acceptRequest is POST /org/invitations/accept's body.
type acceptRequest struct {
	Token    *string `json:"token"`
	Password *string `json:"password"`
}

// memberResponse describes a member.
type memberResponse struct {
	Email    string `json:"email"`
	Role     string `json:"role"`
	JoinedAt string `json:"joined_at"`
}

func newMemberResponse(m domain.Member) memberResponse {
	return memberResponse{Email: string(m.Email), Role: string(m.Role), JoinedAt: m.JoinedAt.UTC().Format(TimeFormat)}
}

// membershipResponse is POST /org/invitations/accept's answer.
type membershipResponse struct {
	memberResponse
	OrganizationName string `json:"organization_name"`
}

// memberListResponse is GET /org/members's answer.
type memberListResponse struct {
	Items    []memberResponse `json:"items"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
	Total    int64            `json:"total"`
}

// invitationResponse describes an invitation; Token only in the answer
// to its creation.
type invitationResponse struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
	// Status is pending or expired, in a listing and a creation's answer.
	Status string `json:"status,omitempty"`
	Token  string `json:"token,omitempty"`
}

func newInvitationResponse(inv domain.Invitation) invitationResponse {
	return invitationResponse{
		ID: string(inv.ID), Email: string(inv.Email), Role: string(inv.Role),
		CreatedAt: inv.CreatedAt.UTC().Format(TimeFormat), ExpiresAt: inv.ExpiresAt.UTC().Format(TimeFormat),
	}
}

// invitationListResponse is GET /org/invitations's answer.
type invitationListResponse struct {
	Items []invitationResponse `json:"items"`
}

// orgNameQuery is the organization_name query parameter (empty if not
// given): the super admin's target organization.
func orgNameQuery(c *echo.Context) (string, error) {
	org, err := queryParam(c, "organization_name")
	if err != nil || org == nil {
		return "", err
	}
	return *org, nil
}

func (h *handlers) listMembers(c *echo.Context, p domain.Principal) error {
	page, size, err := pageParams(c)
	if err != nil {
		return err
	}
	name, err := orgNameQuery(c)
	if err != nil {
		return err
	}
	res, err := h.svc.ListMembers(c.Request().Context(), p, name, page, size)
	if err != nil {
		return err
	}
	out := memberListResponse{Items: make([]memberResponse, len(res.Items)), Page: res.Page, PageSize: res.PageSize, Total: res.Total}
	for i, m := range res.Items {
		out.Items[i] = newMemberResponse(m)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) setRole(c *echo.Context, p domain.Principal) error {
	email, role, err := emailAndRole(c)
	if err != nil {
		return err
	}
	m, err := h.svc.SetRole(c.Request().Context(), p, email, role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMemberResponse(m))
}

func (h *handlers) removeMember(c *echo.Context, p domain.Principal) error {
	email, err := bodyOrQuery(c, "email", func(r *emailRequest) **string { return &r.Email })
	if err != nil {
		return err
	}
	m, err := h.svc.RemoveMember(c.Request().Context(), p, email)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMemberResponse(m))
}

func (h *handlers) invite(c *echo.Context, p domain.Principal) error {
	email, role, err := emailAndRole(c)
	if err != nil {
		return err
	}
	inv, err := h.svc.Invite(c.Request().Context(), p, email, role)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	out := newInvitationResponse(inv.Invitation)
	out.Token, out.Status = inv.Token, domain.InvitationPending
	return c.JSON(http.StatusCreated, out)
}

func (h *handlers) listInvitations(c *echo.Context, p domain.Principal) error {
	name, err := orgNameQuery(c)
	if err != nil {
		return err
	}
	invs, err := h.svc.ListInvitations(c.Request().Context(), p, name)
	if err != nil {
		return err
	}
	out := invitationListResponse{Items: make([]invitationResponse, len(invs))}
	for i, inv := range invs {
		out.Items[i] = newInvitationResponse(inv.Invitation)
		out.Items[i].Status = inv.Status
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) revoke(c *echo.Context, p domain.Principal) error {
	name, err := orgNameQuery(c)
	if err != nil {
		return err
	}
	id, err := bodyOrQuery(c, "id", func(r *idRequest) **string { return &r.ID })
	if err != nil {
		return err
	}
	inv, err := h.svc.Revoke(c.Request().Context(), p, name, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newInvitationResponse(inv))
}

func (h *handlers) accept(c *echo.Context) error {
	return h.keyed(c, "accept", false, func(*usecase.IdempotentIDs) (int, any, error) {
		var req acceptRequest
		if err := decodeJSON(c, &req); err != nil {
			return 0, nil, err
		}
		in := usecase.AcceptInput{Client: c.RealIP()}
		var err error
		if in.Token, err = required(req.Token, "token"); err != nil {
			return 0, nil, err
		}
		if in.Password, err = required(req.Password, "password"); err != nil {
			return 0, nil, err
		}
		m, org, err := h.svc.Accept(c.Request().Context(), in)
		if err != nil {
			if code := domain.ErrorCode(err); code == domain.CodeUnauthorized || code == domain.CodeRateLimited {
				h.event(c, "invitation.accept_failed", nil, "reason", string(code))
			}
			return 0, nil, err
		}
		return http.StatusCreated, membershipResponse{memberResponse: newMemberResponse(m), OrganizationName: org.Name.String()}, nil
	})
}

// emailAndRole reads a body {email, role}, both required.
func emailAndRole(c *echo.Context) (email, role string, err error) {
	var req memberRequest
	if err := decodeJSON(c, &req); err != nil {
		return "", "", err
	}
	if email, err = required(req.Email, "email"); err != nil {
		return "", "", err
	}
	role, err = required(req.Role, "role")
	return email, role, err
}
