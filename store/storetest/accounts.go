package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store"
)

// testDeploymentAccounts is the contract of store.Store.Accounts.
func testDeploymentAccounts(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("CreateGetList", func(t *testing.T) {
		st := open(t, newStore).Accounts()
		for _, a := range []*identity.Account{
			{ID: "222222222222", Name: "staging", RootAccessKeyID: "AKIASTAGINGROOT00001", CreatedAt: at},
			{ID: "111111111111", Name: "dev", RootAccessKeyID: "AKIADEVROOT000000001", CreatedAt: at},
		} {
			if err := st.CreateAccount(ctx, a); err != nil {
				t.Fatalf("CreateAccount(%s): %v", a.Name, err)
			}
		}
		got, err := st.GetAccount(ctx, "111111111111")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "dev" || got.RootAccessKeyID != "AKIADEVROOT000000001" || !got.CreatedAt.Equal(at) {
			t.Errorf("GetAccount = %+v", got)
		}
		byKey, err := st.FindAccountByRootKey(ctx, "AKIASTAGINGROOT00001")
		if err != nil || byKey.ID != "222222222222" {
			t.Errorf("FindAccountByRootKey = %+v, %v", byKey, err)
		}
		list, err := st.ListAccounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "dev" || list[1].Name != "staging" {
			t.Errorf("ListAccounts = %+v, want dev, staging", list)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t, newStore).Accounts()
		if err := st.CreateAccount(ctx, &identity.Account{ID: "111111111111", Name: "dev", RootAccessKeyID: "AKIA1", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		for name, a := range map[string]*identity.Account{
			"SameID":   {ID: "111111111111", Name: "other", RootAccessKeyID: "AKIA2", CreatedAt: at},
			"SameName": {ID: "333333333333", Name: "dev", RootAccessKeyID: "AKIA3", CreatedAt: at},
			"SameKey":  {ID: "444444444444", Name: "qa-1", RootAccessKeyID: "AKIA1", CreatedAt: at},
		} {
			if err := st.CreateAccount(ctx, a); tenantml.ErrorCode(err) != tenantml.ECONFLICT {
				t.Errorf("%s: CreateAccount = %v, want conflict", name, err)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		st := open(t, newStore).Accounts()
		for name, a := range map[string]*identity.Account{
			"ShortID":   {ID: "1234", Name: "dev", RootAccessKeyID: "AKIA1", CreatedAt: at},
			"UpperName": {ID: "111111111111", Name: "Dev", RootAccessKeyID: "AKIA1", CreatedAt: at},
			"EmptyName": {ID: "111111111111", Name: "", RootAccessKeyID: "AKIA1", CreatedAt: at},
		} {
			if err := st.CreateAccount(ctx, a); tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Errorf("%s: CreateAccount = %v, want invalid", name, err)
			}
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t, newStore).Accounts()
		if _, err := st.GetAccount(ctx, "999999999999"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("GetAccount = %v, want not found", err)
		}
		if _, err := st.FindAccountByRootKey(ctx, "AKIANONE"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("FindAccountByRootKey = %v, want not found", err)
		}
	})

	t.Run("SetRootKey", func(t *testing.T) {
		st := open(t, newStore).Accounts()
		if err := st.CreateAccount(ctx, &identity.Account{ID: "111111111111", Name: "dev", RootAccessKeyID: "AKIAOLD", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.SetAccountRootKey(ctx, "111111111111", "AKIASTALE", "AKIANEW"); err != nil || ok {
			t.Errorf("SetAccountRootKey(stale) = %v, %v; want false", ok, err)
		}
		if ok, err := st.SetAccountRootKey(ctx, "111111111111", "AKIAOLD", "AKIANEW"); err != nil || !ok {
			t.Errorf("SetAccountRootKey = %v, %v; want true", ok, err)
		}
		if a, err := st.FindAccountByRootKey(ctx, "AKIANEW"); err != nil || a.ID != "111111111111" {
			t.Errorf("FindAccountByRootKey(new) = %+v, %v", a, err)
		}
	})
}
