package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// Export calls fn with every passkey as a record of passkeyctl's export
// format (passkey.ExportRecord), broken ones included (Status says
// which), in ListPasskeys' order; with opts.CredentialIDs, those
// credentials in that order, each once, skipping the ones not stored.
// The owner's details come from the user value; a passkey whose user key
// is gone carries its user id only.
func (s *Store) Export(ctx context.Context, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	emit := func(e entry) error { return fn(e.record()) }
	if opts.CredentialIDs == nil {
		return s.list(ctx, listOptions{UserID: opts.UserID}, emit)
	}
	var keys []string
	var want []string
	for _, raw := range opts.CredentialIDs {
		id := passkey.AuthjsCredentialID(raw)
		if !slices.Contains(want, id) {
			want = append(want, id)
			keys = append(keys, s.L.AuthenticatorKey(id))
		}
	}
	for start := 0; start < len(keys); start += batchSize {
		end := min(start+batchSize, len(keys))
		auths, err := s.readAuthenticators(ctx, keys[start:end])
		if err != nil {
			return err
		}
		es, err := s.entries(ctx, auths)
		if err != nil {
			return err
		}
		byID := map[string]entry{}
		for _, e := range es {
			byID[e.p.CredentialID] = e
		}
		for _, id := range want[start:end] {
			if e, ok := byID[id]; ok && (opts.UserID == "" || e.p.UserID == opts.UserID) {
				if err := emit(e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// importItem is one record to write.
type importItem struct {
	rec    passkey.ExportRecord
	line   int
	auth   passkey.AuthjsAuthenticator
	userID string // the target user, once resolved
}

// Import reads the export format from r and writes every passkey as the
// adapter would have written it at registration (see CreatePasskey):
// authenticator, webauthn account and its pointer, and the user's
// credential-ID list ([credID, ...old] per passkey, in input order). Users
// are matched as the SQL store's Import matches them: by id (the e-mails,
// when both sides have one, must agree ignoring case), else by e-mail
// exactly then ignoring case; with opts.CreateUsers a missing user is
// created as the adapter's createUser does (random UUID v4). A record whose
// Status is not "ok" is left out (counted in Broken, reported through
// opts.Warn). Credentials already stored follow opts.OnConflict (fail,
// skip, or update: the record's flags and its counter unless the stored
// one is higher, for the same user only).
//
// All or nothing: every write happens in one MULTI/EXEC under WATCH of
// every key planned from; when a user is missing (passkey.ErrNotFound), a
// credential conflicts (passkey.ErrConflict) or a line is invalid
// (passkey.ErrInvalid), nothing is written and the result lists the problems.
// The whole input is held in memory (a few hundred bytes per record), as
// one transaction needs it.
func (s *Store) Import(ctx context.Context, r io.Reader, opts store.ImportOptions) (*store.ImportResult, error) {
	if opts.OnConflict == "" {
		opts.OnConflict = store.ConflictFail
	}
	provider := s.ProviderID
	if opts.ProviderID != "" {
		provider = opts.ProviderID
	}
	res := &store.ImportResult{App: "authjs", DryRun: opts.DryRun, UsersCreated: []store.ImportUser{}, Unmatched: []store.ImportUser{}, Conflicts: []store.ImportConflict{}}
	rd := passkey.NewExportReader(r)
	var items []*importItem
	firstLine := map[string]int{}
	for {
		rec, line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		res.Read++
		auth, err := rec.AuthjsAuthenticator("")
		if err != nil {
			return res, fmt.Errorf("%w (line %d)", err, line)
		}
		if rec.Status != "" && rec.Status != passkey.StatusOK {
			res.Broken++
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("line %d: passkey %s left out: status %s at the source (it could not sign in there)", line, rec.CredentialID, rec.Status))
			}
			continue
		}
		if prev, dup := firstLine[auth.CredentialID]; dup {
			res.Conflicts = append(res.Conflicts, store.ImportConflict{Line: line, CredentialID: rec.CredentialID, Reason: fmt.Sprintf("the same credential is on line %d", prev)})
			continue
		}
		firstLine[auth.CredentialID] = line
		items = append(items, &importItem{rec: rec, line: line, auth: auth})
	}

	created, err := s.resolveImportUsers(ctx, items, opts, res)
	if err != nil {
		return res, err
	}
	if len(res.Unmatched) > 0 {
		return res, fmt.Errorf("import: %d users not found in the target (create them, or pass --create-users); nothing was imported: %w", len(res.Unmatched), passkey.ErrNotFound)
	}

	var keys []string
	for _, it := range items {
		keys = append(keys, s.L.AuthenticatorKey(it.auth.CredentialID), s.L.AccountKey(provider, it.auth.CredentialID))
	}
	var listUsers []string
	for _, it := range items {
		if !slices.Contains(listUsers, it.userID) {
			listUsers = append(listUsers, it.userID)
		}
	}
	for _, u := range listUsers {
		keys = append(keys, s.L.AuthenticatorListKey(u))
	}
	for _, c := range created {
		keys = append(keys, s.L.UserKey(c.id), s.L.EmailKey(c.email))
	}
	watched := store.Distinct(keys)
	base := *res
	var entry *store.AuditEntry
	err = s.watchRetry(ctx, "import", func(tx *goredis.Tx) error {
		*res = base
		res.Conflicts = slices.Clone(base.Conflicts)
		entry = s.auditEntry(store.AuditImport, "")
		vals, ok, err := mgetTx(ctx, tx, keys)
		if err != nil {
			return err
		}
		var sets [][2]string
		lists := map[string][]string{}
		listChanged := map[string]bool{}
		n := 2 * len(items)
		for j, u := range listUsers {
			if ok[n+j] {
				lists[u] = parseList(vals[n+j])
			} else {
				lists[u] = nil
			}
		}
		for j, c := range created {
			k := n + len(listUsers) + 2*j
			if ok[k] || ok[k+1] {
				return fmt.Errorf("user %s <%s> was created by someone else during the import; nothing was imported: %w", c.id, c.email, passkey.ErrConflict)
			}
			sets = append(sets, [2]string{keys[k], userJSON(c.id, c.email)}, [2]string{keys[k+1], c.id})
		}
		for i, it := range items {
			authKey, acctKey := keys[2*i], keys[2*i+1]
			if ok[2*i] {
				a, isAuth := parseAuthenticator(vals[2*i])
				switch {
				case !isAuth || a.CredentialID != it.auth.CredentialID:
					res.Conflicts = append(res.Conflicts, store.ImportConflict{Line: it.line, CredentialID: it.rec.CredentialID, Reason: fmt.Sprintf("its key %s holds another credential (unstorage normalises their keys alike)", authKey)})
				case opts.OnConflict == store.ConflictSkip,
					it.rec.RevokedAt != nil && a.UserID == it.userID && a.CredentialPublicKey == it.auth.CredentialPublicKey:
					// Kept as it is: --on-conflict skip, or a revoke
					// backup's record of the same passkey still there
					// (that revoke did not commit, or the passkey was
					// restored since): nothing to undo, and the stored
					// value is the newer one.
					res.Skipped++
				case opts.OnConflict == store.ConflictUpdate && a.UserID == it.userID:
					counter := max(a.counter(), it.auth.Counter)
					v, err := withFields(vals[2*i], [][2]string{
						{"counter", strconv.FormatInt(counter, 10)},
						{"credentialBackedUp", strconv.FormatBool(it.auth.CredentialBackedUp)},
						{"credentialDeviceType", jsString(it.auth.CredentialDeviceType)},
					})
					if err != nil {
						return fmt.Errorf("line %d: stored credential %s: %w", it.line, it.auth.CredentialID, err)
					}
					sets = append(sets, [2]string{authKey, v})
					res.Updated++
					if entry != nil {
						entry.Updated = append(entry.Updated, store.AuditPasskey{CredentialID: it.rec.CredentialID, UserID: it.userID,
							Before: &store.AuditFlags{DeviceType: a.CredentialDeviceType, BackedUp: a.backedUp()},
							After:  &store.AuditFlags{DeviceType: it.auth.CredentialDeviceType, BackedUp: it.auth.CredentialBackedUp}})
						entry.AddUser(it.userID, it.rec.User.Email)
					}
				case opts.OnConflict == store.ConflictUpdate:
					res.Conflicts = append(res.Conflicts, store.ImportConflict{Line: it.line, CredentialID: it.rec.CredentialID, Reason: "stored for another user (" + a.UserID + ")"})
				default:
					res.Conflicts = append(res.Conflicts, store.ImportConflict{Line: it.line, CredentialID: it.rec.CredentialID, Reason: "already stored"})
				}
				continue
			}
			if acct, isAcct := parseAccount(vals[2*i+1]); ok[2*i+1] && !(isAcct && acct.ProviderAccountID == it.auth.CredentialID && acct.UserID == it.userID) {
				res.Conflicts = append(res.Conflicts, store.ImportConflict{Line: it.line, CredentialID: it.rec.CredentialID, Reason: "its account key " + acctKey + " is taken"})
				continue
			}
			transports := it.auth.Transports
			sets = append(sets,
				[2]string{acctKey, accountJSON(provider, it.auth.CredentialID, it.userID)},
				[2]string{s.L.AccountByUserIDKey(it.userID), s.L.AccountPointer(provider, it.auth.CredentialID)},
				[2]string{authKey, authenticatorJSON(it.auth.CredentialID, it.auth.CredentialPublicKey, it.auth.Counter, it.auth.CredentialBackedUp, it.auth.CredentialDeviceType, transports, it.userID)})
			lists[it.userID] = prependToList(lists[it.userID], it.auth.CredentialID)
			listChanged[it.userID] = true
			res.Inserted++
			if entry != nil {
				entry.Added = append(entry.Added, store.AuditPasskey{CredentialID: it.rec.CredentialID, UserID: it.userID})
				entry.AddUser(it.userID, it.rec.User.Email)
			}
		}
		if len(res.Conflicts) > 0 || opts.DryRun {
			return nil
		}
		for _, u := range listUsers {
			if listChanged[u] {
				sets = append(sets, [2]string{s.L.AuthenticatorListKey(u), jsStringArray(lists[u])})
			}
		}
		if entry != nil {
			entry.SetSummary(store.ImportSummary(res))
		}
		return s.execAudited(ctx, tx, nil, sets, entry)
	}, watched...)
	slices.SortStableFunc(res.Conflicts, func(a, b store.ImportConflict) int { return a.Line - b.Line })
	if err != nil {
		return res, err
	}
	if len(res.Conflicts) > 0 {
		return res, fmt.Errorf("import: %d credentials conflict with the target (see --on-conflict); nothing was imported: %w", len(res.Conflicts), passkey.ErrConflict)
	}
	if !opts.DryRun {
		s.recorded(entry)
	}
	return res, nil
}

// jsString is s quoted as JSON.stringify quotes it.
func jsString(s string) string {
	var w jsonWriter
	writeJSString(&w.b, s)
	return w.b.String()
}

// newImportUser is a user Import creates.
type newImportUser struct{ id, email string }

// resolveImportUsers sets each item's target user, recording unmatched
// users in res and returning the users to create.
func (s *Store) resolveImportUsers(ctx context.Context, items []*importItem, opts store.ImportOptions, res *store.ImportResult) ([]newImportUser, error) {
	resolved := map[string]string{} // input user key → target id ("" unmatched)
	var created []newImportUser
	var folded map[string][]string
	for _, it := range items {
		u := it.rec.User
		email := ""
		if u.Email != nil {
			email = strings.TrimSpace(*u.Email)
		}
		key := u.ID + "\x00" + strings.ToLower(email)
		if id, ok := resolved[key]; ok {
			it.userID = id
			continue
		}
		id, reason, err := s.matchImportUser(ctx, u.ID, email, &folded)
		if err != nil {
			return nil, err
		}
		switch {
		case id != "":
			res.UsersMatched++
		case reason == "" && opts.CreateUsers && email != "":
			if j := slices.IndexFunc(created, func(c newImportUser) bool { return strings.EqualFold(c.email, email) }); j >= 0 {
				id = created[j].id
				break
			}
			// The source's id, as the SQL stores keep it where the id type
			// allows (on Redis any string does): the app's other data
			// keyed by the user's id still matches. A fresh UUID, as
			// @auth/core's createUser makes, when the source has none
			// or it is taken by another user.
			id = u.ID
			if taken, err := s.userExists(ctx, id); err != nil {
				return nil, err
			} else if id == "" || taken || slices.ContainsFunc(created, func(c newImportUser) bool { return c.id == id }) {
				if id, err = newUUIDv4(opts.Rand); err != nil {
					return nil, err
				}
			}
			created = append(created, newImportUser{id: id, email: email})
			res.UsersCreated = append(res.UsersCreated, store.ImportUser{Line: it.line, ID: u.ID, Email: u.Email, TargetID: id})
		default:
			if reason == "" {
				reason = "no user with this id or e-mail in the target"
			}
			res.Unmatched = append(res.Unmatched, store.ImportUser{Line: it.line, ID: u.ID, Email: u.Email, Reason: reason})
		}
		resolved[key] = id
		it.userID = id
	}
	return created, nil
}

// matchImportUser finds the target user of an input user: by id, else by
// e-mail exactly, else ignoring case. reason explains a refusal (an id
// whose e-mail disagrees, an ambiguous e-mail). The case-insensitive
// lookups share one index of the e-mail keys, built by one SCAN on first
// need, rather than a SCAN per user.
func (s *Store) matchImportUser(ctx context.Context, id, email string, folded *map[string][]string) (string, string, error) {
	if id != "" {
		u, found, err := s.getUser(ctx, id)
		if err != nil {
			return "", "", err
		}
		if found {
			if email != "" && u.Email != nil && *u.Email != "" && !strings.EqualFold(*u.Email, email) {
				return "", fmt.Sprintf("the target's user %s has the e-mail %s, not %s", u.ID, *u.Email, email), nil
			}
			return u.ID, "", nil
		}
	}
	if email == "" {
		return "", "", nil
	}
	users, err := s.exactUsers(ctx, email)
	if err != nil {
		return "", "", err
	}
	var byEmail []passkey.User
	for _, u := range users {
		if u.Email != nil && *u.Email == email {
			byEmail = append(byEmail, u)
		}
	}
	if len(byEmail) == 0 {
		if *folded == nil {
			idx := map[string][]string{}
			err := s.scan(ctx, s.L.matchPattern(s.L.EmailKeyPrefix), func(keys []string) error {
				for _, k := range keys {
					lk := strings.ToLower(k)
					if !slices.Contains(idx[lk], k) {
						idx[lk] = append(idx[lk], k)
					}
				}
				return nil
			})
			if err != nil {
				return "", "", err
			}
			*folded = idx
		}
		if byEmail, err = s.usersOfEmailKeys(ctx, (*folded)[strings.ToLower(s.L.EmailKey(email))], email); err != nil {
			return "", "", err
		}
	}
	switch len(byEmail) {
	case 0:
		return "", "", nil
	case 1:
		return byEmail[0].ID, "", nil
	}
	var ids []string
	for _, u := range byEmail {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return "", fmt.Sprintf("the e-mail matches %d users in the target (%s)", len(ids), strings.Join(ids, ", ")), nil
}

// record is the entry in the export format.
func (e entry) record() passkey.ExportRecord {
	u := passkey.ExportUser{ID: e.p.UserID}
	if e.user != nil {
		uu := e.user.user()
		u = passkey.ExportUser{ID: uu.ID, Email: uu.Email, Name: uu.Name, EmailVerified: uu.EmailVerified}
	}
	return passkey.ExportRecordFromAuthjs(passkey.AuthjsExportRow{Passkey: e.p, TransportsNull: e.transportsNull, User: u})
}

// userExists reports whether a user key holds id (an empty id never
// does).
func (s *Store) userExists(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	_, found, err := s.getUser(ctx, id)
	return found, err
}
