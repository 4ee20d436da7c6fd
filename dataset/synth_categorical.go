package dataset

import "slices"

// The text columns of the synthetic data (SynthOptions.Categorical). They are
// drawn from streams of their own, so the numeric columns, the ids and the
// missing cells of the numeric columns are the same with and without them.

// synthCategory is one text column: its labels in the generator's order and
// where each lands in the sorted dictionary a Table holds.
type synthCategory struct {
	labels []string  // generator order: codes below index this
	sorted []string  // the Table's dictionary
	index  []float64 // labels[i] is sorted[int(index[i])]
}

func newSynthCategory(labels ...string) synthCategory {
	c := synthCategory{labels: labels, sorted: slices.Clone(labels), index: make([]float64, len(labels))}
	slices.Sort(c.sorted)
	for i, l := range labels {
		c.index[i] = float64(slices.Index(c.sorted, l))
	}
	return c
}

// The center's industry as a credit center's export names it, one label per
// GB/T 4754-2017 section A..T (the order of industries).
var industryCategory = newSynthCategory(
	"agriculture", "mining", "manufacturing", "utilities", "construction",
	"wholesale and retail", "transport and logistics", "hotels and catering",
	"software and IT", "finance", "real estate", "leasing and business services",
	"research and technical services", "water and environment",
	"residential services", "education", "health and social work",
	"culture and sports", "public administration", "international organisations")

// The district of the registering office, in the order of dalianDivisions.
var districtCategory = newSynthCategory(
	"Zhongshan", "Xigang", "Shahekou", "Ganjingzi", "Lushunkou", "Jinzhou",
	"Pulandian", "Changhai", "Wafangdian", "Zhuanghe")

// Legal forms, and their effect on the log-odds of default: owners liable
// without limit run thinner books.
const (
	formLLC = iota
	formJointStock
	formSole
	formPartnership
	formIndividual
	formStateOwned
)

var legalFormCategory = newSynthCategory(
	"limited liability company", "joint-stock company", "sole proprietorship",
	"partnership", "individual business", "state-owned enterprise")

var legalFormRisk = [...]float64{formLLC: 0, formJointStock: -0.3, formSole: 0.5,
	formPartnership: 0.3, formIndividual: 0.6, formStateOwned: -0.8}

// Taxpayer credit grades of the tax administration: M for new taxpayers
// (here, registered less than 1.5 years ago), then A (best) to D (worst).
const (
	gradeA = iota
	gradeB
	gradeM
	gradeC
	gradeD
)

var gradeCategory = newSynthCategory("A", "B", "M", "C", "D")

var gradeRisk = [...]float64{gradeA: -0.5, gradeB: 0, gradeM: 0.3, gradeC: 0.6, gradeD: 1.6}

// The bank's loan products; secured ones default less.
const (
	productWorkingCapital = iota
	productMortgage
	productEquipment
	productInvoice
	productTaxCredit
	productUnsecured
)

var productCategory = newSynthCategory(
	"working capital loan", "mortgage-backed loan", "equipment loan",
	"invoice financing", "tax-based credit loan", "unsecured credit loan")

var productRisk = [...]float64{productWorkingCapital: 0, productMortgage: -0.6, productEquipment: -0.2,
	productInvoice: 0.2, productTaxCredit: 0.1, productUnsecured: 0.9}

// The account the enterprise holds at the bank: no signal, as many real
// columns carry none.
var accountCategory = newSynthCategory("basic account", "general account", "special account")

// The text columns come after the numeric ones, in this order; the center's
// industry stays in its place and turns into a label.
var (
	bankCategoricalColumns   = []string{"loan_product", "account_type"}
	centerCategoricalColumns = []string{"district", "legal_form", "tax_credit_grade"}
	bankCategories           = []synthCategory{productCategory, accountCategory}
	centerCategories         = []synthCategory{districtCategory, legalFormCategory, gradeCategory}
)

// centerIndustry is the index of the center's industry column.
const centerIndustry = 11

// addCategories appends the text columns to a table newTable made and sets
// its dictionaries; at, when not negative, is a numeric column that turns
// into cat0's labels.
func addCategories(t *Table, names []string, cats []synthCategory, at int, cat0 synthCategory) {
	d := t.Cols()
	t.Columns = append(t.Columns, names...)
	t.X = make([]float64, t.Rows()*len(t.Columns))
	t.Categories = make([][]string, len(t.Columns))
	for j, c := range cats {
		t.Categories[d+j] = slices.Clone(c.sorted)
	}
	if at >= 0 {
		t.Categories[at] = slices.Clone(cat0.sorted)
	}
}

// categoricalShift keeps the default rate near the numeric story's (about
// 11%) once the text columns' effects are added; measured on seed 42.
const categoricalShift = 0.4

// drawCategories draws the text columns' traits from their own stream r;
// district and individual business come from the id already drawn.
func (t *enterprise) drawCategories(r *rng) {
	if t.individual {
		t.legalForm = formIndividual
	} else {
		big := sigmoid(-2.5 + 1.2*t.size)
		t.legalForm = pick(r, []float64{
			formLLC:         0.74,
			formJointStock:  0.3 * big,
			formSole:        0.1 * (1 - big),
			formPartnership: 0.05,
			formIndividual:  0,
			formStateOwned:  0.08 * big,
		})
	}

	score := 0.8*t.comply + 0.3*t.health + 0.5*r.norm()
	switch {
	case t.years < 1.5:
		t.grade = gradeM
	case t.dishonest == 1 || score < -1.9:
		t.grade = gradeD
	case t.taxArrears > 0 || score < -1.0:
		t.grade = gradeC
	case score > 0.7:
		t.grade = gradeA
	default:
		t.grade = gradeB
	}

	// Weights of the products the enterprise may have taken.
	w := [6]float64{
		productWorkingCapital: 0.35,
		productMortgage:       0.10,
		productEquipment:      0.08,
		productInvoice:        0.08,
		productUnsecured:      0.08 + 0.1*step(t.health < -0.5, 1),
	}
	if t.years > 5 {
		w[productMortgage] = 0.25
	}
	switch t.industry {
	case 2: // manufacturing
		w[productEquipment] = 0.2
	case 5: // wholesale and retail
		w[productInvoice] = 0.2
	}
	if t.grade == gradeA || t.grade == gradeB {
		w[productTaxCredit] = 0.15
	}
	t.product = pick(r, w[:])
	t.account = pick(r, []float64{0.6, 0.35, 0.05})
}

// pick draws an index with probability proportional to its weight.
func pick(r *rng, w []float64) int {
	total := 0.0
	for _, v := range w {
		total += v
	}
	u := r.float64() * total
	for i, v := range w {
		if u < v {
			return i
		}
		u -= v
	}
	return len(w) - 1
}

// categoricalRisk is the text columns' part of the log-odds of default. The
// industry's part is in the numeric story already (as a code a linear model
// cannot use); the grade, the legal form and the product add their own.
func (t *enterprise) categoricalRisk() float64 {
	return gradeRisk[t.grade] + legalFormRisk[t.legalForm] + productRisk[t.product] - categoricalShift
}

func (t *enterprise) bankCategories(x []float64) {
	x[0] = productCategory.index[t.product]
	x[1] = accountCategory.index[t.account]
}

func (t *enterprise) centerCategories(x []float64) {
	x[0] = districtCategory.index[t.division]
	x[1] = legalFormCategory.index[t.legalForm]
	x[2] = gradeCategory.index[t.grade]
}
