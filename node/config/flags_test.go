package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestPricingAndFlags reads the whitelist's pricing (score.yaml), the
// flags a bank asks for, the center's flag columns and each bank's flags
// policy, and refuses what cannot be priced or disclosed.
func TestPricingAndFlags(t *testing.T) {
	s, err := ParseScore("score.yaml", []byte(scoreYAML))
	if err != nil {
		t.Fatal(err)
	}
	if s.RateMax != 4.2 || s.RateMin != 3.8 || s.CouponDiscount != 0.2 || s.CategoryDiscount != 0.2 || s.MaxLine != 3_000_000 || s.Lines != nil || s.Rates != nil || s.Flags != nil {
		t.Errorf("default pricing %+v", s)
	}
	s, err = ParseScore("score.yaml", []byte(scoreYAML+"lines: [3000000, 1000000]\nrates: [4.0, 4.2]\nflags: [coupon, trade]\ncoupon_discount: 0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Lines, []float64{3_000_000, 1_000_000}) || !slices.Equal(s.Flags, []string{"coupon", "trade"}) || s.CouponDiscount != 0.1 {
		t.Errorf("pricing %+v", s)
	}
	flagged := strings.Replace(centerYAML, "enterprises: {source: center.csv, id: id}", "enterprises: {source: center.csv, id: id, flags: {coupon: has_coupon, trade: imp_exp}}", 1)
	flagged = strings.Replace(flagged, "outputs: [bands]", "outputs: [bands], flags: [coupon]", 1)
	c, err := ParseCenter("center.yaml", []byte(flagged))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tables["enterprises"].Flags; got["coupon"] != "has_coupon" || got["trade"] != "imp_exp" || len(got) != 2 {
		t.Errorf("table flags %v", got)
	}
	if b := c.Banks["bank-b"]; !slices.Equal(b.Flags, []string{"coupon"}) || b.FlagGrades != DefaultFlagGrades {
		t.Errorf("bank-b's flags %v, %d grades", b.Flags, b.FlagGrades)
	}
	if b := c.Banks["bank-a"]; b.Flags != nil {
		t.Errorf("bank-a's flags %v, want none", b.Flags)
	}
	for _, tc := range []struct {
		name, kind, yaml, want string
	}{
		{"score flag", "score", scoreYAML + "flags: [coupon, charity]\n", "score.yaml:10:1: flags: unknown flag \"charity\""},
		{"score flag twice", "score", scoreYAML + "flags: [coupon, coupon]\n", "flags: flag \"coupon\" named twice"},
		{"score lines", "score", scoreYAML + "lines: [1000]\n", "lines: 1 line caps for 2 approved grades"},
		{"score line cap", "score", scoreYAML + "lines: [4000000, 1]\n", "lines: line cap 4e+06"},
		{"score rates", "score", scoreYAML + "rates: [4.2, 5]\n", "rates: base rate 5"},
		{"score discount", "score", scoreYAML + "coupon_discount: -0.2\n", "coupon_discount: negative"},
		{"policy flag", "center", strings.Replace(centerYAML, "outputs: [bands]", "outputs: [bands], flags: [gold]", 1), "banks.bank-b.flags: unknown flag \"gold\""},
		{"policy grades", "center", strings.Replace(centerYAML, "outputs: [bands]", "outputs: [bands], flag_grades: -1", 1), "banks.bank-b.flag_grades: negative"},
		{"table flag", "center", strings.Replace(centerYAML, "id: id}", "id: id, flags: {vip: v}}", 1), "tables.enterprises.flags: unknown flag \"vip\""},
		{"table flag column", "center", strings.Replace(centerYAML, "id: id}", "id: id, flags: {coupon: id}}", 1), "want a column of the table other than its id"},
	} {
		var err error
		if tc.kind == "score" {
			_, err = ParseScore("score.yaml", []byte(tc.yaml))
		} else {
			_, err = ParseCenter("center.yaml", []byte(tc.yaml))
		}
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a *config.Error containing %q", tc.name, err, tc.want)
		}
	}
}
