package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
)

func TestPricing(t *testing.T) {
	must := func(names ...string) Flags {
		f, err := FlagsOf(names...)
		require.NoError(t, err)
		return f
	}
	def := DefaultPricing()
	graded := DefaultPricing()
	graded.Lines, graded.Rates = []float64{3_000_000, 1_000_000}, []float64{4.0, 4.2}
	for _, tc := range []struct {
		name     string
		p        Pricing
		grade    int
		flags    Flags
		want     Offer
		wantText string
	}{
		{"no flags", def, 0, 0, Offer{Line: 3_000_000, Rate: 4.2}, ""},
		{"coupon", def, 0, must("coupon"), Offer{Line: 3_000_000, Rate: 4.0, Coupon: 0.2}, "coupon"},
		{"one category", def, 1, must("trade"), Offer{Line: 1_500_000, Rate: 4.0, Category: 0.2}, "trade"},
		{"categories once", def, 0, must("specialised", "technology", "a_taxpayer", "trade"), Offer{Line: 3_000_000, Rate: 4.0, Category: 0.2}, "specialised;technology;a_taxpayer;trade"},
		{"both: the floor", def, 0, must("coupon", "technology"), Offer{Line: 3_000_000, Rate: 3.8, Coupon: 0.2, Category: 0.2}, "coupon;technology"},
		{"floor takes the rest", graded, 0, must("coupon", "a_taxpayer"), Offer{Line: 3_000_000, Rate: 3.8, Coupon: 0.2, Category: 0}, "coupon;a_taxpayer"},
		{"grade caps", graded, 1, must("coupon"), Offer{Line: 1_000_000, Rate: 4.0, Coupon: 0.2}, "coupon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.p.Check(2))
			require.Equal(t, tc.want, tc.p.Price(tc.grade, 2, tc.flags))
			require.Equal(t, tc.wantText, tc.flags.String())
		})
	}
	_, err := FlagsOf("coupon", "charity")
	require.ErrorContains(t, err, `flag "charity"`)
	for _, tc := range []struct {
		name string
		edit func(*Pricing)
		want string
	}{
		{"floor above ceiling", func(p *Pricing) { p.Floor = 4.5 }, "floor <= ceiling"},
		{"negative discount", func(p *Pricing) { p.Coupon = -0.1 }, "non-negative"},
		{"no line", func(p *Pricing) { p.MaxLine = 0 }, "positive"},
		{"lines per grade", func(p *Pricing) { p.Lines = []float64{1} }, "1 line caps for 2"},
		{"line above the cap", func(p *Pricing) { p.Lines = []float64{4_000_000, 1} }, "grade A's line cap"},
		{"rate outside", func(p *Pricing) { p.Rates = []float64{4.2, 4.5} }, "grade B's base rate"},
	} {
		p := DefaultPricing()
		tc.edit(&p)
		require.ErrorContains(t, p.Check(2), tc.want, tc.name)
	}
}

// TestWhitelistFlags prices the whitelist with disclosed flags: only the
// approved rows carry them, and only the disclosed ones count.
func TestWhitelistFlags(t *testing.T) {
	res := &score.Scored{IDs: []string{"e1", "e2", "e3"}, Result: &score.Result{Bands: []int{0, 1, 2}}}
	all, err := FlagsOf("coupon", "technology", "trade")
	require.NoError(t, err)
	disclosed, err := FlagsOf("coupon", "trade")
	require.NoError(t, err)
	wl := Whitelist{Approve: 2, Pricing: DefaultPricing(), Disclosed: disclosed, Flags: []Flags{all, disclosed &^ 1, 0}}
	dir := t.TempDir()
	_, approved, err := WriteGrades(dir, res, 3, false, model.Scorecard{}, wl)
	require.NoError(t, err)
	require.Equal(t, 2, approved)
	w, err := os.ReadFile(filepath.Join(dir, "whitelist.csv"))
	require.NoError(t, err)
	require.Equal(t, strings.Join([]string{
		"id,grade,credit_line_yuan,annual_rate_percent,coupon_discount_points,category_discount_points,flags",
		"e1,A,3000000,3.80,0.20,0.20,coupon;trade",
		"e2,B,1500000,4.00,0.00,0.20,trade",
	}, "\n")+"\n", string(w))
	wl.Flags = wl.Flags[:2]
	_, _, err = WriteGrades(dir, res, 3, false, model.Scorecard{}, wl)
	require.ErrorContains(t, err, "2 records' flags")
}
