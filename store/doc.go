// Package store defines the persistence interfaces of the metadata store and
// the rules every adapter follows. Adapters live in store/sqlite (the
// embedded default) and store/postgres (scale-out, with row-level security);
// they never import each other, and both pass the one contract suite in
// store/storetest.
//
// Tenancy rules: every tenant-owned record carries its TenantID, and every
// method that reads or writes one takes the tenant explicitly. A missing
// tenant is an error, never "no filter". Reads that span tenants exist only
// as separately named operator methods (ListTenants is one), so that a
// cross-tenant read is visible at the call site.
package store
