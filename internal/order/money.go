package order

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxExponentDigits bounds the exponent of a decimal JSON number the v1
// upcaster accepts, so that "1e999999999" cannot cost time or memory.
const maxExponentDigits = 4

// DecimalToMinor converts the text of a non-negative JSON number (e.g.
// "12.5", "1299e-2") to an integer number of minor units with scale decimal
// places (2 for cents): "12.5" with scale 2 is 1250. It works on the digits,
// never through floating point, so the result is exact. It fails when the
// text is not a JSON number, is negative, has more than scale significant
// decimals ("1.005" with scale 2), or does not fit in an int64.
func DecimalToMinor(num string, scale int) (int64, error) {
	if scale < 0 || scale > 18 {
		return 0, fmt.Errorf("scale %d outside 0–18", scale)
	}
	mant, exp, neg, err := splitNumber(num)
	if err != nil {
		return 0, fmt.Errorf("%.40q: %w", num, err)
	}
	// The value is mant × 10^(exp+scale) minor units.
	intDigits, frac := mant, ""
	shift := exp + scale
	switch {
	case shift >= 0:
		if len(strings.TrimLeft(mant, "0")) > 0 && len(strings.TrimLeft(mant, "0"))+shift > 19 {
			return 0, fmt.Errorf("%.40q: out of range", num)
		}
		if len(strings.TrimLeft(mant, "0")) > 0 {
			intDigits = mant + strings.Repeat("0", shift)
		}
	case -shift >= len(mant):
		intDigits, frac = "0", mant
	default:
		intDigits, frac = mant[:len(mant)+shift], mant[len(mant)+shift:]
	}
	if strings.Trim(frac, "0") != "" {
		return 0, fmt.Errorf("%.40q: more than %d decimal places", num, scale)
	}
	intDigits = strings.TrimLeft(intDigits, "0")
	if intDigits == "" {
		return 0, nil
	}
	if neg {
		return 0, fmt.Errorf("%.40q: negative amount", num)
	}
	if len(intDigits) > 19 {
		return 0, fmt.Errorf("%.40q: out of range", num)
	}
	v, err := strconv.ParseInt(intDigits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%.40q: out of range", num)
	}
	return v, nil
}

// splitNumber parses JSON number text into its digits (integer and fraction
// parts concatenated), the power of ten they are to be multiplied by, and
// the sign.
func splitNumber(s string) (mant string, exp int, neg bool, err error) {
	errSyntax := errors.New("not a JSON number")
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return "", 0, false, errSyntax
	}
	s = s[i:]
	var fracPart string
	if strings.HasPrefix(s, ".") {
		s = s[1:]
		j := 0
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == 0 {
			return "", 0, false, errSyntax
		}
		fracPart, s = s[:j], s[j:]
	}
	if s != "" {
		if s[0] != 'e' && s[0] != 'E' {
			return "", 0, false, errSyntax
		}
		s = s[1:]
		expNeg := false
		if s != "" && (s[0] == '+' || s[0] == '-') {
			expNeg, s = s[0] == '-', s[1:]
		}
		if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return "", 0, false, errSyntax
		}
		s = strings.TrimLeft(s, "0")
		if len(s) > maxExponentDigits {
			return "", 0, false, errors.New("exponent out of range")
		}
		if s != "" {
			exp, _ = strconv.Atoi(s) // at most maxExponentDigits digits
		}
		if expNeg {
			exp = -exp
		}
	}
	// Drop trailing zeros of the fraction: they carry no value.
	fracPart = strings.TrimRight(fracPart, "0")
	return intPart + fracPart, exp - len(fracPart), neg, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
