package node

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/veil-fl/veil/node/config"
)

// Pricing is the whitelist's rule set: what a pre-approved enterprise of a
// grade is offered, a revolving collateral-free credit line for at most a
// year at an annual rate. DefaultPricing holds the reference product's
// terms (a line of up to 3,000,000 yuan at 4.2% a year at most; the credit
// center's digital credit coupon takes 0.2 points off; a specialised-and-
// innovative, technology-based, A-grade taxpayer or importing/exporting
// enterprise another 0.2, once whichever categories it is in; never below
// 3.8%).
//
// For an enterprise of grade k (A = 0) among the Approve best:
//
//	line = Lines[k]                       (nil Lines: MaxLine*(Approve-k)/Approve, rounded to the yuan)
//	rate = max(Floor, Rates[k] - Coupon*coupon - Category*category)
//	                                     (nil Rates: Ceiling for every grade)
//
// where coupon is 1 when the center disclosed that the enterprise holds a
// coupon and category is 1 when it disclosed any of the category flags
// (config.CategoryFlags). A flag the center did not disclose (the bank did
// not ask for it, or the center's policy does not list it) counts as 0: the
// whitelist then prices at the grade's base rate.
type Pricing struct {
	// Ceiling is the highest annual rate, percent (4.2).
	Ceiling float64
	// Floor is the lowest, percent (3.8).
	Floor float64
	// Coupon is the points taken off for the center's credit coupon (0.2).
	Coupon float64
	// Category is the points taken off, once, for any category flag (0.2).
	Category float64
	// MaxLine is the highest credit line, yuan (3,000,000).
	MaxLine float64
	// Lines are the line caps of grades A, B, ... (nil: MaxLine*(Approve-k)/Approve).
	Lines []float64
	// Rates are the base rates of grades A, B, ... (nil: Ceiling each).
	Rates []float64
}

// DefaultPricing returns the reference product's pricing.
func DefaultPricing() Pricing {
	return Pricing{Ceiling: 4.2, Floor: 3.8, Coupon: 0.2, Category: 0.2, MaxLine: 3_000_000}
}

// PricingOf returns the pricing a bank's scoring config sets.
func PricingOf(cfg *config.Score) Pricing {
	return Pricing{Ceiling: cfg.RateMax, Floor: cfg.RateMin, Coupon: cfg.CouponDiscount, Category: cfg.CategoryDiscount,
		MaxLine: cfg.MaxLine, Lines: slices.Clone(cfg.Lines), Rates: slices.Clone(cfg.Rates)}
}

// Check reports a rule set that cannot price approve grades: rates not
// 0 < Floor <= Ceiling, discounts negative, a line not positive or above
// MaxLine, a base rate outside [Floor, Ceiling], or Lines or Rates not one
// per approved grade.
func (p Pricing) Check(approve int) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(p.Floor > 0) || !(p.Ceiling >= p.Floor) || !finite(p.Ceiling):
		return fmt.Errorf("node: pricing: rates %v .. %v: want 0 < floor <= ceiling", p.Floor, p.Ceiling)
	case !(p.Coupon >= 0) || !(p.Category >= 0) || !finite(p.Coupon) || !finite(p.Category):
		return fmt.Errorf("node: pricing: discounts %v (coupon) and %v (category): want non-negative", p.Coupon, p.Category)
	case !(p.MaxLine > 0) || !finite(p.MaxLine):
		return fmt.Errorf("node: pricing: credit line %v: want a positive number", p.MaxLine)
	case p.Lines != nil && len(p.Lines) != approve:
		return fmt.Errorf("node: pricing: %d line caps for %d approved grades", len(p.Lines), approve)
	case p.Rates != nil && len(p.Rates) != approve:
		return fmt.Errorf("node: pricing: %d base rates for %d approved grades", len(p.Rates), approve)
	}
	for k, l := range p.Lines {
		if !(l > 0) || l > p.MaxLine {
			return fmt.Errorf("node: pricing: grade %c's line cap %v: want (0, %v]", 'A'+k, l, p.MaxLine)
		}
	}
	for k, r := range p.Rates {
		if !(r >= p.Floor) || r > p.Ceiling {
			return fmt.Errorf("node: pricing: grade %c's base rate %v: want [%v, %v]", 'A'+k, r, p.Floor, p.Ceiling)
		}
	}
	return nil
}

// Offer is one approved enterprise's terms.
type Offer struct {
	// Line is the credit line, yuan; Rate the annual rate, percent.
	Line, Rate float64
	// Coupon and Category are the points taken off for the coupon and the
	// categories (0 when the flag was not disclosed or not held, or the
	// floor took the discount).
	Coupon, Category float64
}

// Price returns the terms of grade k of approve, for an enterprise whose
// disclosed flags are f (named as in config.Flags).
func (p Pricing) Price(k, approve int, f Flags) Offer {
	o := Offer{Line: math.Round(p.MaxLine * float64(approve-k) / float64(approve)), Rate: p.Ceiling}
	if p.Lines != nil {
		o.Line = p.Lines[k]
	}
	if p.Rates != nil {
		o.Rate = p.Rates[k]
	}
	take := func(points float64) float64 {
		d := min(points, max(0, o.Rate-p.Floor))
		o.Rate -= d
		return d
	}
	if f.Has(config.FlagCoupon) {
		o.Coupon = take(p.Coupon)
	}
	if f.Category() {
		o.Category = take(p.Category)
	}
	// Rates are quoted to the hundredth of a point: keep sums such as
	// 4.2 - 0.2 - 0.2 from showing as 3.8000000000000003.
	o.Rate = math.Round(o.Rate*1e6) / 1e6
	return o
}

// Flags are the center's flags disclosed for one enterprise: bit i is
// config.Flags[i]. A flag not disclosed is 0.
type Flags uint64

// FlagsOf returns the flags named.
func FlagsOf(names ...string) (Flags, error) {
	var f Flags
	for _, n := range names {
		i := slices.Index(config.Flags, n)
		if i < 0 {
			return 0, fmt.Errorf("node: flag %q: want one of %s", n, strings.Join(config.Flags, ", "))
		}
		f |= 1 << i
	}
	return f, nil
}

// Has reports flag name.
func (f Flags) Has(name string) bool {
	i := slices.Index(config.Flags, name)
	return i >= 0 && f>>i&1 == 1
}

// Category reports any of the category flags.
func (f Flags) Category() bool {
	for _, n := range config.CategoryFlags {
		if f.Has(n) {
			return true
		}
	}
	return false
}

// String lists the flags held, separated by ';' ("" for none).
func (f Flags) String() string {
	var s []string
	for i, n := range config.Flags {
		if f>>i&1 == 1 {
			s = append(s, n)
		}
	}
	return strings.Join(s, ";")
}
