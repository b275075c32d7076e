package redis_test

import (
	"strings"
	"testing"
)

// TestSurvey: the default layout counts its own passkeys and points at the
// fixture's app2:/myapp passkeys it cannot read.
func TestSurvey(t *testing.T) {
	f := loadFixture(t)
	e := newEnv(t)
	e.load(f.DefaultOptions.FinalKeys)
	keys := map[string]fixtureKey{}
	for k, v := range apply(nil, f.PrefixedOptions.Registration) {
		keys[k] = fixtureKey{Value: v}
	}
	e.load(keys)
	sv, err := e.open("", "").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Other users of the server may hold keys too: look at ours only.
	mine := map[string]int{}
	for stem, n := range sv.Elsewhere {
		if strings.HasPrefix(stem, e.ns+":") {
			mine[stem] = n
		}
	}
	if sv.Passkeys != 2 || len(mine) != 1 || mine[e.ns+":myapp:app2:authenticator"] != 1 {
		t.Errorf("default layout: %d passkeys, elsewhere %v", sv.Passkeys, mine)
	}
	sv, err = e.open("myapp", "baseKeyPrefix=app2:").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Passkeys != 1 || sv.Elsewhere[e.ns+":authenticator"] != 2 {
		t.Errorf("prefixed layout: %d passkeys, elsewhere %v", sv.Passkeys, sv.Elsewhere)
	}
	sv, err = e.open("", "authenticatorKeyPrefix=pk:").Survey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Passkeys != 0 || sv.Elsewhere[e.ns+":authenticator"] != 2 || sv.Stems()[0] == "" {
		t.Errorf("custom prefix: %d passkeys, elsewhere %v", sv.Passkeys, sv.Elsewhere)
	}
}
