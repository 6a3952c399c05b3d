package contract

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// Members checks the membership operations (join, role change, removal)
// and a delete of an organization of several roster pages: whole after a
// crash at any step, however recovery comes, and one winner in each race.
func Members(t *testing.T, newStores NewStores) {
	t.Run("join-crash", func(t *testing.T) { joinCrash(t, newStores) })
	t.Run("setrole-crash", func(t *testing.T) { memberCrash(t, newStores, true) })
	t.Run("remove-crash", func(t *testing.T) { memberCrash(t, newStores, false) })
	t.Run("big-delete-crash", func(t *testing.T) { bigDeleteCrash(t, newStores) })
	t.Run("races", func(t *testing.T) { memberRaces(t, newStores) })
}

// join has owner invite email with role, and accepts it with password1.
func (r *rig) join(t *testing.T, s *usecase.Service, owner domain.Principal, email string, role domain.OrgRole) domain.Principal {
	t.Helper()
	inv, err := s.Invite(ctx(t), owner, email, string(role))
	require.NoError(t, err)
	_, _, err = s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
	require.NoError(t, err)
	return r.principal(t, s, email, "password1")
}

// principal logs email in and returns who it is (as a token of the
// login would authenticate; the rig's clock may run ahead of the tokens').
func (r *rig) principal(t *testing.T, s *usecase.Service, email, password string) domain.Principal {
	t.Helper()
	res, err := s.Login(ctx(t), usecase.LoginInput{Email: email, Password: password})
	require.NoError(t, err)
	return domain.Principal{AdminID: res.Admin.ID, OrgID: res.Admin.OrgID, OrgRole: res.Admin.OrgRole}
}

// members returns the roles of org's members by email, as the roster
// lists them, checking the list agrees with its total.
func (r *rig) members(t *testing.T, s *usecase.Service, org string) map[string]domain.OrgRole {
	t.Helper()
	out := map[string]domain.OrgRole{}
	for i := 1; ; i++ {
		page, err := s.ListMembers(ctx(t), domain.Principal{Super: true}, org, i, usecase.MaxPageSize)
		require.NoError(t, err)
		for _, m := range page.Items {
			out[string(m.Email)] = m.Role
		}
		if len(page.Items) < usecase.MaxPageSize {
			assert.Len(t, out, int(page.Total), "the roster lists each member once")
			return out
		}
	}
}

// audited asserts the integrity audit finds nothing, nothing pending.
func (r *rig) audited(t *testing.T, s *usecase.Service) {
	t.Helper()
	assert.Empty(t, r.intents(t), "no operation may stay pending")
	r.checkStreams(t)
	rep, err := s.CheckIntegrity(ctx(t), false)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings, "the audit finds nothing")
}

func joinCrash(t *testing.T, newStores NewStores) {
	for _, point := range []string{usecase.FPJoinReserved, usecase.FPJoinPending, usecase.FPJoinAdmin} {
		for _, rec := range recoveries {
			t.Run(point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				s := r.service(t, nil, r.clock)
				owner := r.create(t, s, "acme", 5)
				inv, err := s.Invite(ctx(t), owner, "new@acme.test", "admin")
				require.NoError(t, err)
				_, _, err = r.service(t, fakes.CrashAt(point), r.clock).Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
				require.ErrorIs(t, err, fakes.ErrCrash)

				rec.run(t, r, s, "acme")
				r.audited(t, s)
				members := r.members(t, s, "acme")
				if point == usecase.FPJoinReserved {
					// The intent was never written: nothing happened, and the
					// invitation still works.
					assert.Equal(t, map[string]domain.OrgRole{"admin@acme.test": domain.RoleOwner}, members)
					_, _, err := s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
					require.NoError(t, err)
				} else {
					assert.Equal(t, map[string]domain.OrgRole{"admin@acme.test": domain.RoleOwner, "new@acme.test": domain.RoleAdmin}, members)
					_, _, err := s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
					require.ErrorIs(t, err, domain.ErrInvitationInvalid, "the invitation was used")
				}
				p := r.principal(t, s, "new@acme.test", "password1")
				assert.Equal(t, domain.RoleAdmin, p.OrgRole)
				r.audited(t, s)
			})
		}
	}
}

// memberCrash crashes a role change (setRole) or a removal at each step.
func memberCrash(t *testing.T, newStores NewStores, setRole bool) {
	points := []string{usecase.FPRemovePending, usecase.FPRemoveAdmin, usecase.FPRemoveRoster}
	if setRole {
		points = []string{usecase.FPRoleSet, usecase.FPRoleAdmin}
	}
	for _, point := range points {
		for _, rec := range recoveries {
			t.Run(point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				s := r.service(t, nil, r.clock)
				owner := r.create(t, s, "acme", 5)
				target := r.join(t, s, owner, "m@acme.test", domain.RoleMember)
				crashing := r.service(t, fakes.CrashAt(point), r.clock)
				var err error
				if setRole {
					_, err = crashing.SetRole(ctx(t), owner, "m@acme.test", "owner")
				} else {
					_, err = crashing.RemoveMember(ctx(t), owner, "m@acme.test")
				}
				require.ErrorIs(t, err, fakes.ErrCrash)

				rec.run(t, r, s, "acme")
				r.audited(t, s)
				members := r.members(t, s, "acme")
				if setRole {
					assert.Equal(t, map[string]domain.OrgRole{"admin@acme.test": domain.RoleOwner, "m@acme.test": domain.RoleOwner}, members)
					assert.Equal(t, domain.RoleOwner, r.principal(t, s, "m@acme.test", "password1").OrgRole)
					return
				}
				assert.Equal(t, map[string]domain.OrgRole{"admin@acme.test": domain.RoleOwner}, members)
				_, err = s.Login(ctx(t), usecase.LoginInput{Email: "m@acme.test", Password: "password1"})
				require.ErrorIs(t, err, domain.ErrInvalidCredentials, "the removed member's account is gone")
				_ = target
				r.join(t, s, owner, "m@acme.test", domain.RoleAdmin) // its email is free again
				r.audited(t, s)
			})
		}
	}
}

// bigDeleteCrash deletes an organization whose roster spans pages, crashing
// after each step (after the first page's members, for the members'
// step); every member, email claim, roster page and invitation goes.
func bigDeleteCrash(t *testing.T, newStores NewStores) {
	const members = domain.RosterPageSize + 20
	for _, point := range []string{usecase.FPDeleteMarked, usecase.FPDeleteDropped, usecase.FPDeleteAdmin, usecase.FPDeleteOrg} {
		t.Run(point, func(t *testing.T) {
			r := newRig(t, newStores)
			s := r.service(t, nil, r.clock)
			owner := r.create(t, s, "acme", 30)
			r.create(t, s, "bystander", 3)
			for i := range members - 1 {
				r.join(t, s, owner, fmt.Sprintf("m%03d@acme.test", i), domain.RoleMember)
			}
			open, err := s.Invite(ctx(t), owner, "pending@acme.test", "member")
			require.NoError(t, err)
			require.Len(t, r.members(t, s, "acme"), members)

			_, err = r.service(t, fakes.CrashAt(point), r.clock).DeleteOrg(ctx(t), owner, "acme", nil)
			require.ErrorIs(t, err, fakes.ErrCrash)
			recoveries[0].run(t, r, s)

			bystander := whole{name: "bystander", email: "admin@bystander.test", password: "password-bystander", docs: 3}
			r.checkInvariants(t, s, []whole{bystander}, "m000@acme.test", "m118@acme.test")
			r.audited(t, s)
			invs, err := r.st.Invitations.All(ctx(t))
			require.NoError(t, err)
			assert.Empty(t, invs, "every invitation goes")
			_, _, err = s.Accept(ctx(t), usecase.AcceptInput{Token: open.Token, Password: "password1", Client: "test"})
			require.ErrorIs(t, err, domain.ErrInvitationInvalid)
		})
	}
}

func memberRaces(t *testing.T, newStores NewStores) {
	const n = 8
	t.Run("same-accept-twice", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		owner := r.create(t, s, "acme", 0)
		inv, err := s.Invite(ctx(t), owner, "new@acme.test", "member")
		require.NoError(t, err)
		var o outcomes
		parallel(n, func(int) {
			_, _, err := s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one accept wins: %v", o.errs)
		assert.Equal(t, n-1, o.count(domain.ErrInvitationInvalid), "%v", o.errs)
		assert.Len(t, r.members(t, s, "acme"), 2)
		r.audited(t, s)
	})
	t.Run("two-invitations-one-email", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		a := r.create(t, s, "alpha", 0)
		b := r.create(t, s, "beta", 0)
		var tokens []string
		for _, owner := range []domain.Principal{a, a, b, b} {
			inv, err := s.Invite(ctx(t), owner, "both@x.test", "member")
			require.NoError(t, err)
			tokens = append(tokens, inv.Token)
		}
		var o outcomes
		parallel(len(tokens), func(i int) {
			_, _, err := s.Accept(ctx(t), usecase.AcceptInput{Token: tokens[i], Password: "password1", Client: "test"})
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one wins the email: %v", o.errs)
		assert.Equal(t, len(tokens)-1, o.count(domain.ErrEmailExists), "%v", o.errs)
		assert.Equal(t, 3, len(r.members(t, s, "alpha"))+len(r.members(t, s, "beta")))
		r.audited(t, s)
	})
	t.Run("accept-against-delete", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		owner := r.create(t, s, "acme", 10)
		inv, err := s.Invite(ctx(t), owner, "new@acme.test", "member")
		require.NoError(t, err)
		var acceptErr, deleteErr error
		parallel(2, func(i int) {
			if i == 0 {
				_, _, acceptErr = s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
			} else {
				_, deleteErr = s.DeleteOrg(ctx(t), owner, "acme", nil)
			}
		})
		require.NoError(t, deleteErr)
		if acceptErr != nil {
			require.ErrorIs(t, acceptErr, domain.ErrInvitationInvalid)
		}
		r.checkInvariants(t, s, nil, "new@acme.test", "admin@acme.test")
		r.audited(t, s)
	})
	t.Run("accept-against-rename", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		owner := r.create(t, s, "acme", 10)
		inv, err := s.Invite(ctx(t), owner, "new@acme.test", "admin")
		require.NoError(t, err)
		var acceptErr, renameErr error
		name := "acme_two"
		parallel(2, func(i int) {
			if i == 0 {
				_, _, acceptErr = s.Accept(ctx(t), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "test"})
			} else {
				_, renameErr = s.UpdateOrg(ctx(t), owner, usecase.UpdateOrgInput{Name: &name})
			}
		})
		require.NoError(t, acceptErr)
		require.NoError(t, renameErr)
		assert.Len(t, r.members(t, s, name), 2)
		p := r.principal(t, s, "new@acme.test", "password1")
		assert.Equal(t, owner.OrgID, p.OrgID)
		r.audited(t, s)
	})
	t.Run("owners-demote-each-other", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		a := r.create(t, s, "acme", 0)
		b := r.join(t, s, a, "second@acme.test", domain.RoleOwner)
		var o outcomes
		parallel(2, func(i int) {
			var err error
			if i == 0 {
				_, err = s.SetRole(ctx(t), a, "second@acme.test", "admin")
			} else {
				_, err = s.SetRole(ctx(t), b, "admin@acme.test", "admin")
			}
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one demotion wins: %v", o.errs)
		roles := r.members(t, s, "acme")
		owners := 0
		for _, role := range roles {
			if role == domain.RoleOwner {
				owners++
			}
		}
		assert.Equal(t, 1, owners, "one owner is left: %v", roles)
		r.audited(t, s)
	})
}
