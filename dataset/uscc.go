package dataset

import "math/bits"

// The unified social credit code (统一社会信用代码, GB 32100-2015) is the 18-character
// id of every Chinese enterprise: registration authority (1 char), entity type
// (1), administrative division of the registering office (6 digits),
// organisation code (9, GB 11714) and a check character.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY" // no I, O, S, V, Z

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccValue maps a character to its value in usccAlphabet, or -1.
var usccValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := range len(usccAlphabet) {
		v[usccAlphabet[i]] = int8(i)
	}
	return v
}()

// ValidUSCC reports whether id is a well-formed unified social credit code: 18
// characters of the code's alphabet (digits and upper-case letters other than
// I, O, S, V and Z), a 6-digit administrative division code in characters 3 to
// 8, and a last character equal to the GB 32100-2015 check character of the
// first 17: 31 - (sum of value x weight mod 31), with 31 written as 0.
func ValidUSCC(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := range 18 {
		if usccValue[id[i]] < 0 {
			return false
		}
	}
	for i := 2; i < 8; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return usccCheck(id[:17]) == id[17]
}

// usccCheck returns the check character of the first 17 characters, which must
// be in the alphabet.
func usccCheck(body string) byte {
	sum := 0
	for i, w := range usccWeights {
		sum += int(usccValue[body[i]]) * w
	}
	return usccAlphabet[(31-sum%31)%31]
}

// orgCheck returns the GB 11714 check character of an 8-character organisation
// code body: 11 - (sum of value x weight mod 11), with 10 written X and 11 as 0;
// letters count from A = 10.
func orgCheck(body []byte) byte {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body[:8] {
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// Dalian's districts and counties, weighted roughly by how many enterprises
// register there.
var dalianDivisions = []struct {
	code   string
	weight float64
}{
	{"210202", 0.14}, // 中山区
	{"210203", 0.11}, // 西岗区
	{"210204", 0.15}, // 沙河口区
	{"210211", 0.22}, // 甘井子区
	{"210212", 0.04}, // 旅顺口区
	{"210213", 0.16}, // 金州区
	{"210214", 0.05}, // 普兰店区
	{"210224", 0.01}, // 长海县
	{"210281", 0.07}, // 瓦房店市
	{"210283", 0.05}, // 庄河市
}

const (
	// Organisation-code bodies come from a bijection of the enterprise's index,
	// so ids never collide: 8 digits (codes issued before 2015) or "MA" and six
	// characters of the alphabet (codes issued with the credit code).
	oldOrgSpace = 100_000_000
	newOrgSpace = 31 * 31 * 31 * 31 * 31 * 31
)

// affine maps x to (a*x + b) mod m, a bijection of [0, m) when gcd(a, m) = 1.
func affine(x, a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, x)
	_, r := bits.Div64(hi%m, lo, m) // hi%m keeps the quotient in range
	return (r + b%m) % m
}

// appendUSCC appends a credit code for enterprise index e. salt varies the
// codes between seeds; e must be below oldOrgSpace.
func appendUSCC(dst []byte, e int, salt uint64, individual, oldCode bool, division string) []byte {
	start := len(dst)
	dst = append(dst, '9')
	if individual {
		dst = append(dst, '2') // 个体工商户
	} else {
		dst = append(dst, '1') // enterprise
	}
	dst = append(dst, division...)
	var org [8]byte
	if oldCode {
		x := affine(uint64(e), 48_271, salt, oldOrgSpace)
		for i := 7; i >= 0; i-- {
			org[i] = byte('0' + x%10)
			x /= 10
		}
	} else {
		x := affine(uint64(e), 16_807, salt, newOrgSpace)
		org[0], org[1] = 'M', 'A'
		for i := 7; i >= 2; i-- {
			org[i] = usccAlphabet[x%31]
			x /= 31
		}
	}
	dst = append(dst, org[:]...)
	dst = append(dst, orgCheck(org[:]))
	return append(dst, usccCheck(string(dst[start:start+17])))
}
